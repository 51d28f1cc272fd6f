package server_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/soulbox/soulbox/internal/auth"
	"github.com/soulbox/soulbox/internal/server"
	"github.com/soulbox/soulbox/internal/store/sqlite"
)

// TestNewCreatesAdminKey starts a server on an empty data dir, as a first
// install does: it writes admin.key, the key opens the API, and a restart
// keeps it.
func TestNewCreatesAdminKey(t *testing.T) {
	cfg := testConfig(t)
	cfg.AdminKey = ""
	path := filepath.Join(cfg.DataDir, auth.AdminKeyFile)
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("data dir not empty: %s: %v", path, err)
	}
	var key string
	for start := 1; start <= 2; start++ {
		serve(t, cfg, func(base string) {
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode() != 0o600 {
				t.Errorf("admin.key mode %v, want -rw-------", fi.Mode())
			}
			b, _ := os.ReadFile(path)
			got := strings.TrimSpace(string(b))
			if !auth.ValidFormat(got) || (key != "" && got != key) {
				t.Fatalf("start %d: admin.key holds %q (first start: %q)", start, got, key)
			}
			key = got
			c := apiClient{t: t, base: base, key: key}
			c.want(200, "GET", "/v2/sandboxes", nil, nil)
			c.key = ""
			c.want(401, "GET", "/v2/sandboxes", nil, nil)
		})
	}
	st, err := sqlite.Open(context.Background(), filepath.Join(cfg.DataDir, "soulbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	keys, err := st.ListAPIKeys(context.Background())
	if err != nil || len(keys) != 1 || !keys[0].Admin || keys[0].Hash != auth.Hash(key) || keys[0].LastUsedAt == nil {
		t.Errorf("keys after two starts: %+v, %v; want the one admin key, used", keys, err)
	}
}

// serve runs a server on cfg while fn talks to it at base, then stops it.
func serve(t *testing.T, cfg server.Config, fn func(base string)) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, err := server.New(ctx, cfg, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil && err != http.ErrServerClosed {
			t.Errorf("run: %v", err)
		}
	}()
	fn("http://" + srv.Addr())
}
