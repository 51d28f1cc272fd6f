package cli

import (
	"context"
	"errors"
	"fmt"
	"os/user"
	"path/filepath"

	"github.com/soulbox/soulbox/internal/audit"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/server"
	"github.com/soulbox/soulbox/internal/store"
)

// keysDir is the server's keys dir: --keys-dir (SOULBOX_KEYS_DIR), or
// the data dir, as the server reads it.
func keysDir(cfg server.Config) string {
	if cfg.KeysDir != "" {
		return cfg.KeysDir
	}
	return cfg.DataDir
}

// hostAuditKey reads the server's audit key from its keys dir. It never
// makes one: a key the CLI made would not be the server's, and the
// entries hashed under it would break the chain. A command reads it
// before it changes anything, so a missing key changes nothing.
func hostAuditKey(cfg server.Config) ([]byte, error) {
	dir := keysDir(cfg)
	key, err := audit.ReadKey(dir)
	if errors.Is(err, errdefs.ErrNotFound) {
		return nil, fmt.Errorf("no audit key in %s: give the server's keys dir (--keys-dir or SOULBOX_KEYS_DIR, as the server was given), or start the server once to make it: %w",
			filepath.Join(dir, audit.KeyFile), errdefs.ErrFailedPrecondition)
	}
	return key, err
}

// recordHost records a change made on the server's host (keys, teams,
// quotas) in the audit log, as the API records its own, hashed under
// the server's audit key (hostAuditKey): action "CLI keys create" and
// the like, team the team changed, target what was changed, remote
// "host:USER". The change is made by then: a failure to record it is an
// error saying so.
func recordHost(ctx context.Context, st store.Audit, key []byte, team, action, target string) error {
	remote := "host"
	if u, uerr := user.Current(); uerr == nil {
		remote += ":" + u.Username
	}
	err := audit.New(st, key, 0, nil).Record(ctx, store.AuditEntry{Team: team, Action: "CLI " + action, Target: target,
		Remote: remote, Status: 200})
	if err != nil {
		return fmt.Errorf("%s %s was done, but its audit entry could not be written: %w: %w", action, target, err, errdefs.ErrUnavailable)
	}
	return nil
}
