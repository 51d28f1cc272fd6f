package auth

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/store/sqlite"
)

func TestKeysAndMiddleware(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	key, rec, err := Create(ctx, st, "ci", "team1", false)
	if err != nil {
		t.Fatal(err)
	}
	if !ValidFormat(key) || rec.Hash == key || !strings.HasPrefix(key, rec.Prefix) {
		t.Fatalf("key %q record %+v", key, rec)
	}
	a := Authenticator{Store: st}
	h := a.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k, _ := FromContext(r.Context())
		w.Write([]byte(k.Team))
	}))
	call := func(header, value string) (int, string) {
		req := httptest.NewRequest("GET", "/", nil)
		if header != "" {
			req.Header.Set(header, value)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code, rec.Body.String()
	}
	if code, body := call("X-API-Key", key); code != 200 || body != "team1" {
		t.Errorf("valid key: %d %s", code, body)
	}
	if code, _ := call("Authorization", "Bearer "+key); code != 200 {
		t.Errorf("bearer: %d", code)
	}
	other, _, _ := Generate()
	for name, v := range map[string]string{"missing": "", "malformed": "e2b_xyz", "unknown": other} {
		code, body := call("X-API-Key", v)
		var e struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		}
		if code != 401 || json.Unmarshal([]byte(body), &e) != nil || e.Code != 401 || e.Message == "" {
			t.Errorf("%s key: %d %s", name, code, body)
		}
	}
	if err := st.RevokeAPIKey(ctx, rec.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	if code, body := call("X-API-Key", key); code != 401 || !strings.Contains(body, "revoked") {
		t.Errorf("revoked key: %d %s", code, body)
	}
}

func TestBootstrap(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	log := slog.New(slog.DiscardHandler)
	if err := Bootstrap(ctx, st, dir, "", log); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, "admin.key"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("admin.key: %v %v", fi, err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "admin.key"))
	k, err := Authenticator{Store: st}.Authenticate(ctx, strings.TrimSpace(string(b)))
	if err != nil || !k.Admin || k.Team != DefaultTeam {
		t.Errorf("admin key does not authenticate: %+v %v", k, err)
	}
	// A second start creates nothing.
	if err := Bootstrap(ctx, st, dir, "", log); err != nil {
		t.Fatal(err)
	}
	if keys, _ := st.ListAPIKeys(ctx); len(keys) != 1 {
		t.Errorf("%d keys after a second bootstrap", len(keys))
	}
	// SOULBOX_ADMIN_KEY is added as an admin key.
	envKey, _, _ := Generate()
	if err := Bootstrap(ctx, st, dir, envKey, log); err != nil {
		t.Fatal(err)
	}
	if _, err := (Authenticator{Store: st}).Authenticate(ctx, envKey); err != nil {
		t.Errorf("env key: %v", err)
	}
	if err := Bootstrap(ctx, st, dir, "e2b_nothex", log); err == nil {
		t.Error("a malformed SOULBOX_ADMIN_KEY was accepted")
	}
}

func TestEnvKeyOnEmptyStoreWritesNoFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, _ := sqlite.Open(ctx, filepath.Join(dir, "db"))
	defer st.Close()
	envKey, _, _ := Generate()
	if err := Bootstrap(ctx, st, dir, envKey, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "admin.key")); !os.IsNotExist(err) {
		t.Errorf("admin.key written although SOULBOX_ADMIN_KEY was given: %v", err)
	}
}
