package server

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/soulbox/soulbox/internal/audit"
	"github.com/soulbox/soulbox/internal/auth"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/keyfile"
	"github.com/soulbox/soulbox/internal/nodeca"
	"github.com/soulbox/soulbox/internal/secrets"
)

// keysMatch records in a shared store the fingerprint of each key of k
// the first time a control plane starts on it, and refuses keys whose
// fingerprint differs from the one recorded: a replica started on
// another keys dir would issue access tokens the others refuse, seal
// secrets they cannot open, break the audit chain and sign nodes with
// another CA. The caller holds a leadership no other replica's start
// holds at once.
func (s *Server) keysMatch(ctx context.Context, k sharedKeys) error {
	dir := s.cfg.keysDir()
	secretsFile := s.cfg.SecretsKeyFile
	if secretsFile == "" {
		secretsFile = filepath.Join(dir, secrets.KeyFile)
	}
	for _, key := range []struct{ name, file, fingerprint string }{
		{"audit key", filepath.Join(dir, audit.KeyFile), keyfile.Fingerprint(k.audit)},
		{"access token secret", filepath.Join(dir, auth.TokenKeyFile), k.tokens.Fingerprint()},
		{"secrets key", secretsFile, k.secrets.Fingerprint()},
		{"node CA", filepath.Join(dir, "node-ca", nodeca.CertFile), k.nodeCA.Fingerprint()},
	} {
		recorded, err := s.store.ClaimKeyFingerprint(ctx, key.name, key.fingerprint)
		if err != nil {
			return err
		}
		if recorded != key.fingerprint {
			return fmt.Errorf("the %s in %s is not the one the control planes of this database were started with: "+
				"copy the keys dir of a running replica (--keys-dir: %s, %s, %s, node-ca/) to this one: %w",
				key.name, key.file, audit.KeyFile, auth.TokenKeyFile, secrets.KeyFile, errdefs.ErrFailedPrecondition)
		}
	}
	return nil
}
