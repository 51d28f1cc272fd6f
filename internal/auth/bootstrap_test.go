package auth

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
)

func logTo(buf *bytes.Buffer) *slog.Logger { return slog.New(slog.NewTextHandler(buf, nil)) }

// readAdminKey returns the key in dir's admin.key, checking its mode.
func readAdminKey(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, AdminKeyFile)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode() != 0o600 {
		t.Errorf("%s has mode %v, want -rw-------", path, fi.Mode())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func listKeys(t *testing.T, st store.APIKeys) []store.APIKey {
	t.Helper()
	keys, err := st.ListAPIKeys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

func noFile(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s exists (%v), want none", path, err)
	}
}

func TestBootstrapGenerates(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st := openStore(t)
	var logs, terminal bytes.Buffer
	if err := Bootstrap(ctx, st, dir, "", &terminal, logTo(&logs)); err != nil {
		t.Fatal(err)
	}
	key := readAdminKey(t, dir)
	k, err := (&Authenticator{Store: st}).Authenticate(ctx, key)
	if err != nil || !k.Admin || k.Team != DefaultTeam || k.Name != "admin" {
		t.Errorf("admin key %q: %+v, %v", key, k, err)
	}
	// Shown once on the terminal, saying where it is kept; the log only
	// points to the file.
	path := filepath.Join(dir, AdminKeyFile)
	if strings.Count(terminal.String(), key) != 1 || !strings.Contains(terminal.String(), path) {
		t.Errorf("terminal does not show the key once with its file:\n%s", terminal.String())
	}
	if strings.Contains(logs.String(), key) || strings.Contains(logs.String(), key[4:]) || !strings.Contains(logs.String(), path) {
		t.Errorf("log holds the key or does not name its file:\n%s", logs.String())
	}
	noFile(t, pendingPath(path))

	// A second start creates nothing and shows nothing.
	logs.Reset()
	terminal.Reset()
	if err := Bootstrap(ctx, st, dir, "", &terminal, logTo(&logs)); err != nil {
		t.Fatal(err)
	}
	if terminal.Len() != 0 {
		t.Errorf("second start showed:\n%s", terminal.String())
	}
	if keys := listKeys(t, st); len(keys) != 1 {
		t.Errorf("%d keys after a second bootstrap, want 1", len(keys))
	}
	if got := readAdminKey(t, dir); got != key {
		t.Errorf("admin.key changed on a second start")
	}
	if logs.Len() != 0 {
		t.Errorf("second start logged:\n%s", logs.String())
	}
}

func TestBootstrapWithoutTerminal(t *testing.T) {
	// Output that is not a terminal (a service's journal, a pipe) never
	// sees the key: the log points to the file.
	ctx := context.Background()
	dir := t.TempDir()
	var logs bytes.Buffer
	if err := Bootstrap(ctx, openStore(t), dir, "", nil, logTo(&logs)); err != nil {
		t.Fatal(err)
	}
	key := readAdminKey(t, dir)
	if strings.Contains(logs.String(), key[4:]) || !strings.Contains(logs.String(), filepath.Join(dir, AdminKeyFile)) {
		t.Errorf("log holds the key or does not name its file:\n%s", logs.String())
	}
}

func TestBootstrapRevokedKeysCount(t *testing.T) {
	// Revoking every key is the operator's choice: no new admin key
	// appears behind their back.
	ctx := context.Background()
	dir := t.TempDir()
	st := openStore(t)
	_, k, _ := Create(ctx, st, "ci", "t", false)
	if err := st.RevokeAPIKey(ctx, k.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := Bootstrap(ctx, st, dir, "", nil, logTo(new(bytes.Buffer))); err != nil {
		t.Fatal(err)
	}
	if len(listKeys(t, st)) != 1 {
		t.Error("a key was generated although the store has keys")
	}
	noFile(t, filepath.Join(dir, AdminKeyFile))
}

func TestBootstrapEnvKey(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st := openStore(t)
	env, _, _ := Generate()
	var logs bytes.Buffer
	// With a trailing newline, as `kubectl create secret --from-file` keeps it.
	if err := Bootstrap(ctx, st, dir, env+"\n", nil, logTo(&logs)); err != nil {
		t.Fatal(err)
	}
	a := &Authenticator{Store: st}
	if k, err := a.Authenticate(ctx, env); err != nil || !k.Admin || k.Team != DefaultTeam || k.Name != "admin" {
		t.Errorf("SOULBOX_ADMIN_KEY: %+v, %v", k, err)
	}
	noFile(t, filepath.Join(dir, AdminKeyFile))
	if strings.Contains(logs.String(), env) {
		t.Errorf("the log shows the key it was given:\n%s", logs.String())
	}

	// The same key again: nothing new.
	if err := Bootstrap(ctx, st, dir, env, nil, logTo(&logs)); err != nil {
		t.Fatal(err)
	}
	if n := len(listKeys(t, st)); n != 1 {
		t.Errorf("%d keys after the same SOULBOX_ADMIN_KEY twice, want 1", n)
	}

	// A rotated secret: added beside the old key, which still works
	// until revoked.
	rotated, _, _ := Generate()
	if err := Bootstrap(ctx, st, dir, rotated, nil, logTo(&logs)); err != nil {
		t.Fatal(err)
	}
	keys := listKeys(t, st)
	if len(keys) != 2 || keys[1].Name != "admin (SOULBOX_ADMIN_KEY)" || !keys[1].Admin {
		t.Errorf("keys after rotation: %+v", keys)
	}
	for _, key := range []string{env, rotated} {
		if _, err := a.Authenticate(ctx, key); err != nil {
			t.Errorf("after rotation: %v", err)
		}
	}
	noFile(t, filepath.Join(dir, AdminKeyFile))

	// A revoked SOULBOX_ADMIN_KEY stays revoked, and the log says so.
	if err := st.RevokeAPIKey(ctx, keys[0].ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	logs.Reset()
	if err := Bootstrap(ctx, st, dir, env, nil, logTo(&logs)); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authenticate(ctx, env); !errors.Is(err, errdefs.ErrUnauthenticated) {
		t.Errorf("a revoked SOULBOX_ADMIN_KEY works again: %v", err)
	}
	if !strings.Contains(logs.String(), "revoked") {
		t.Errorf("no warning about the revoked SOULBOX_ADMIN_KEY:\n%s", logs.String())
	}
}

func TestBootstrapInvalidEnvKey(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st := openStore(t)
	for _, env := range []string{"e2b_nothex", "secret", "E2B_0123456789ABCDEF0123456789ABCDEF01234567", "e2b_0123"} {
		err := Bootstrap(ctx, st, dir, env, nil, logTo(new(bytes.Buffer)))
		if !errors.Is(err, errdefs.ErrInvalidArgument) || !strings.Contains(err.Error(), "SOULBOX_ADMIN_KEY") {
			t.Errorf("SOULBOX_ADMIN_KEY=%q: %v, want an invalid argument naming the variable", env, err)
		}
		if err != nil && strings.Contains(err.Error(), env) {
			t.Errorf("the error repeats the key: %v", err)
		}
	}
	if n := len(listKeys(t, st)); n != 0 {
		t.Errorf("%d keys stored after refused SOULBOX_ADMIN_KEYs", n)
	}
	noFile(t, filepath.Join(dir, AdminKeyFile))
}

// createFails refuses to store keys.
type createFails struct{ store.APIKeys }

func (createFails) CreateAPIKey(context.Context, store.APIKey) error {
	return errors.New("disk full")
}

func TestBootstrapStoreFailureShowsNothing(t *testing.T) {
	// The key is durable in the store before anyone sees it: a key the
	// store refused is neither written nor logged.
	ctx := context.Background()
	dir := t.TempDir()
	var logs bytes.Buffer
	err := Bootstrap(ctx, createFails{openStore(t)}, dir, "", nil, logTo(&logs))
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("bootstrap: %v, want the store's error", err)
	}
	path := filepath.Join(dir, AdminKeyFile)
	noFile(t, path)
	noFile(t, pendingPath(path))
	if strings.Contains(logs.String(), "e2b_") {
		t.Errorf("a key that was never stored was logged:\n%s", logs.String())
	}
}

func TestBootstrapAfterCrash(t *testing.T) {
	ctx := context.Background()
	var logs bytes.Buffer

	t.Run("StoredNotPublished", func(t *testing.T) {
		// The crash came after the store took the key and before
		// admin.key was written: the next start publishes it.
		dir := t.TempDir()
		st := openStore(t)
		key, k, err := Create(ctx, st, "admin", DefaultTeam, true)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, AdminKeyFile)
		if err := writeSecret(pendingPath(path), key+"\n"); err != nil {
			t.Fatal(err)
		}
		if err := Bootstrap(ctx, st, dir, "", nil, logTo(&logs)); err != nil {
			t.Fatal(err)
		}
		if got := readAdminKey(t, dir); got != key {
			t.Errorf("admin.key holds %q, want the stored key %q", got, key)
		}
		if keys := listKeys(t, st); len(keys) != 1 || keys[0].ID != k.ID {
			t.Errorf("keys: %+v, want only the stored one", keys)
		}
		noFile(t, pendingPath(path))
	})

	t.Run("NeverStored", func(t *testing.T) {
		// The crash came before the store took the key: it never worked,
		// it is dropped, and a new one is made.
		dir := t.TempDir()
		st := openStore(t)
		stale, _, _ := Generate()
		path := filepath.Join(dir, AdminKeyFile)
		if err := writeSecret(pendingPath(path), stale+"\n"); err != nil {
			t.Fatal(err)
		}
		if err := Bootstrap(ctx, st, dir, "", nil, logTo(&logs)); err != nil {
			t.Fatal(err)
		}
		key := readAdminKey(t, dir)
		if key == stale {
			t.Error("a key the store never had was published")
		}
		if _, err := (&Authenticator{Store: st}).Authenticate(ctx, key); err != nil {
			t.Error(err)
		}
		noFile(t, pendingPath(path))
	})
}
