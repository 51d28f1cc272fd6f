package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
)

// DefaultTeam owns what the bootstrap admin key creates.
const DefaultTeam = "default"

// Bootstrap makes sure the server can be used: with an empty key store it
// creates an admin key. envKey (SOULBOX_ADMIN_KEY), when set, is that key
// (and is added as an admin key if the store does not have it yet, so that
// a rotated Kubernetes secret works); otherwise a new key is generated,
// stored, then written to <dataDir>/admin.key (0600) and logged once. The
// key is durable in the store before it is shown anywhere.
func Bootstrap(ctx context.Context, st store.APIKeys, dataDir, envKey string, log *slog.Logger) error {
	if envKey != "" {
		if !ValidFormat(envKey) {
			return fmt.Errorf("SOULBOX_ADMIN_KEY: want e2b_ followed by 40 lowercase hex digits: %w", errdefs.ErrInvalidArgument)
		}
		_, err := st.APIKeyByHash(ctx, Hash(envKey))
		if err == nil {
			return nil
		}
		if !errors.Is(err, errdefs.ErrNotFound) {
			return err
		}
		return st.CreateAPIKey(ctx, store.APIKey{ID: newID(), Name: "admin (SOULBOX_ADMIN_KEY)", Prefix: Prefix(envKey),
			Hash: Hash(envKey), Team: DefaultTeam, Admin: true})
	}
	keys, err := st.ListAPIKeys(ctx)
	if err != nil || len(keys) > 0 {
		return err
	}
	key, hash, prefix := Generate()
	if err := st.CreateAPIKey(ctx, store.APIKey{ID: newID(), Name: "admin", Prefix: prefix, Hash: hash, Team: DefaultTeam, Admin: true}); err != nil {
		return err
	}
	path := filepath.Join(dataDir, "admin.key")
	if err := writeSecret(path, key+"\n"); err != nil {
		return err
	}
	log.Warn("created the admin API key; it is shown once here and kept in "+path, slog.String("key", key))
	return nil
}

// writeSecret writes a file only root can read, atomically and durably.
func writeSecret(path, content string) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := f.WriteString(content); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return os.Rename(tmp, path)
}

// Create issues a new key for team and returns it; only its hash is kept.
func Create(ctx context.Context, st store.APIKeys, name, team string, admin bool) (string, store.APIKey, error) {
	if name == "" || team == "" {
		return "", store.APIKey{}, fmt.Errorf("a key needs a name and a team: %w", errdefs.ErrInvalidArgument)
	}
	key, hash, prefix := Generate()
	k := store.APIKey{ID: newID(), Name: name, Prefix: prefix, Hash: hash, Team: team, Admin: admin}
	if err := st.CreateAPIKey(ctx, k); err != nil {
		return "", k, err
	}
	return key, k, nil
}
