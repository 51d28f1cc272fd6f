package server

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/soulbox/soulbox/internal/audit"
	"github.com/soulbox/soulbox/internal/auth"
	"github.com/soulbox/soulbox/internal/nodeca"
	"github.com/soulbox/soulbox/internal/secrets"
)

// setupLeadership is held by a replica while it makes or reads the keys
// and the first admin key: replicas started together on one keys dir
// make each key once, and the store gets one first admin key.
const setupLeadership = "setup"

// setupWait bounds the wait for another replica's setup.
const setupWait = 2 * time.Minute

// sharedKeys are the keys every control-plane replica must hold alike:
// one replica's access tokens, sealed secrets, audit chain and node
// certificates are another's.
type sharedKeys struct {
	audit   []byte
	tokens  *auth.Tokens
	secrets *secrets.Sealer
	nodeCA  *nodeca.CA
}

// openKeys makes the keys missing in the keys dir and reads them all,
// and makes the first admin key if the store has none. A replica does
// it under the store's setup leadership (replicaSetup), and refuses keys
// other than those the first replica recorded (keysMatch).
func (s *Server) openKeys(ctx context.Context) (k sharedKeys, err error) {
	if s.leader != nil {
		release, err := s.replicaSetup(ctx)
		if err != nil {
			return k, err
		}
		defer func() {
			if rerr := release(); rerr != nil && err == nil {
				err = rerr
			}
		}()
	}
	dir := s.cfg.keysDir()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return k, fmt.Errorf("keys dir: %w", err)
	}
	if err := auth.Bootstrap(ctx, s.store, s.cfg.DataDir, s.cfg.AdminKey, s.cfg.ShowKey, s.log); err != nil {
		return k, err
	}
	if k.audit, err = audit.LoadKey(dir); err != nil {
		return k, err
	}
	if k.tokens, err = auth.LoadTokens(dir); err != nil {
		return k, err
	}
	if k.secrets, err = secrets.Load(dir, s.cfg.SecretsKeyFile); err != nil {
		return k, err
	}
	if k.nodeCA, err = nodeca.Open(filepath.Join(dir, "node-ca")); err != nil {
		return k, err
	}
	if s.leader != nil { // a replica: other control planes share the store
		if err := s.keysMatch(ctx, k); err != nil {
			return k, err
		}
	}
	return k, nil
}
