package auth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/soulbox/soulbox/internal/durable"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
)

// DefaultTeam owns what the bootstrap admin key creates: the built-in
// team of the server's administrators (store.AdminTeam).
const DefaultTeam = store.AdminTeam

// AdminKeyFile is the file in the data dir that holds a generated admin key.
const AdminKeyFile = "admin.key"

// Bootstrap makes sure a new server can be used, and lets a deployment
// name its admin key:
//
//   - envKey (SOULBOX_ADMIN_KEY, surrounding space ignored) must have the
//     key format. If the store has no key with its hash, it is stored as
//     an admin key of DefaultTeam, even when other keys exist, so that a
//     rotated secret (Kubernetes) works on the next start; the old key
//     stays until revoked. Nothing is written to the data dir.
//   - Without envKey, a store with no keys at all (revoked ones count)
//     gets a generated admin key: stored durably first, only then written
//     to <dataDir>/admin.key (0600). The key itself is written to show
//     once, when show is not nil (the caller passes its terminal, never a
//     log); the log only says where the key file is. A key is a secret and
//     logs are kept, shipped and read by many.
//
// A crash between storing a generated key and writing admin.key is
// finished by the next Bootstrap, so the key is never lost.
func Bootstrap(ctx context.Context, st store.APIKeys, dataDir, envKey string, show io.Writer, log *slog.Logger) error {
	envKey = strings.TrimSpace(envKey)
	if envKey != "" && !ValidFormat(envKey) {
		return fmt.Errorf("SOULBOX_ADMIN_KEY: want e2b_ followed by 40 lowercase hex digits (make one with: echo e2b_$(openssl rand -hex 20)): %w",
			errdefs.ErrInvalidArgument)
	}
	path := filepath.Join(dataDir, AdminKeyFile)
	if err := finishPending(ctx, st, path, show, log); err != nil {
		return err
	}
	n, err := st.CountAPIKeys(ctx)
	if err != nil {
		return err
	}
	switch {
	case envKey != "":
		return addEnvKey(ctx, st, envKey, n, log)
	case n == 0:
		return generateAdminKey(ctx, st, path, show, log)
	}
	return nil
}

// addEnvKey stores SOULBOX_ADMIN_KEY unless the store has it.
func addEnvKey(ctx context.Context, st store.APIKeys, key string, n int, log *slog.Logger) error {
	k, err := st.APIKeyByHash(ctx, Hash(key))
	if err == nil {
		if k.RevokedAt != nil {
			// A revoke is deliberate; the environment does not undo it.
			log.Warn("SOULBOX_ADMIN_KEY was revoked and does not open the API; set a new one",
				slog.String("key.id", k.ID), slog.String("key.prefix", k.Prefix))
		}
		return nil
	}
	if !errors.Is(err, errdefs.ErrNotFound) {
		return err
	}
	name := "admin"
	if n > 0 {
		// Tells it apart from the key it replaces, which the operator
		// may now revoke.
		name = "admin (SOULBOX_ADMIN_KEY)"
	}
	k = store.APIKey{ID: newID(), Name: name, Prefix: Prefix(key), Hash: Hash(key), Team: DefaultTeam, Admin: true, Role: store.RoleOwner}
	if err := st.CreateAPIKey(ctx, k); err != nil {
		return fmt.Errorf("store SOULBOX_ADMIN_KEY: %w", err)
	}
	log.Info("stored SOULBOX_ADMIN_KEY as an admin API key", slog.String("key.id", k.ID), slog.String("key.prefix", k.Prefix))
	return nil
}

// generateAdminKey makes the first admin key. The order is what makes it
// safe: the key is written to a pending file (so a crash cannot lose it),
// stored durably, and only then published as admin.key and shown.
func generateAdminKey(ctx context.Context, st store.APIKeys, path string, show io.Writer, log *slog.Logger) error {
	key, hash, prefix := Generate()
	pending := pendingPath(path)
	if err := writeSecret(pending, key+"\n"); err != nil {
		return err
	}
	k := store.APIKey{ID: newID(), Name: "admin", Prefix: prefix, Hash: hash, Team: DefaultTeam, Admin: true, Role: store.RoleOwner}
	if err := st.CreateAPIKey(ctx, k); err != nil {
		_ = os.Remove(pending)
		return fmt.Errorf("store the admin API key: %w", err)
	}
	return publish(pending, path, key, show, log)
}

func pendingPath(path string) string { return path + ".pending" }

// finishPending completes a generateAdminKey that a crash interrupted: a
// pending key the store has is published; one it does not have was never
// valid and is removed.
func finishPending(ctx context.Context, st store.APIKeys, path string, show io.Writer, log *slog.Logger) error {
	pending := pendingPath(path)
	b, err := os.ReadFile(pending)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", pending, err)
	}
	key := strings.TrimSpace(string(b))
	if ValidFormat(key) {
		_, err := st.APIKeyByHash(ctx, Hash(key))
		if err == nil {
			return publish(pending, path, key, show, log)
		}
		if !errors.Is(err, errdefs.ErrNotFound) {
			return err
		}
	}
	if err := os.Remove(pending); err != nil {
		return fmt.Errorf("remove %s: %w", pending, err)
	}
	return nil
}

// publish moves a stored key's pending file to admin.key, shows the key
// this once on show (if any) and logs where the file is, never the key.
func publish(pending, path, key string, show io.Writer, log *slog.Logger) error {
	if err := os.Rename(pending, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := durable.SyncDir(filepath.Dir(path)); err != nil {
		return err
	}
	if show != nil {
		fmt.Fprintf(show, "SoulBox admin API key (shown only this once; also kept in %s, readable by root only):\n\n    %s\n\n", path, key)
	}
	log.Warn("created the admin API key; read it from its file (readable by root only)", slog.String("file", path))
	return nil
}

// writeSecret creates a file only its owner can read, with all of content
// on disk when it returns. O_EXCL: never through a file or symlink someone
// left in its place.
func writeSecret(path, content string) (err error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			_ = os.Remove(path)
		}
	}()
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
	return durable.SyncDir(filepath.Dir(path))
}
