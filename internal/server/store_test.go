package server_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/server"
	"github.com/soulbox/soulbox/internal/store/postgres/pgtest"
	"github.com/soulbox/soulbox/internal/testutil"
)

// TestPostgresStore runs a server on PostgreSQL: an empty database is
// migrated and served from; a second server on the same database is
// refused while the first runs (it would reconcile away the first's
// sandboxes); a database a newer binary migrated is refused; and a server
// whose database session dies stops instead of running on unled.
func TestPostgresStore(t *testing.T) {
	testutil.RequiresRoot(t)
	c := pgtest.Start(t)
	url := c.NewDatabase(t)
	cfg := testConfig(t)
	cfg.Store = url
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, err := server.New(ctx, cfg, discardLogger())
	if err != nil {
		t.Fatalf("new on an empty database: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	var health struct {
		Status string `json:"status"`
	}
	getJSON(t, "http://"+srv.Addr()+"/health", http.StatusOK, &health)
	if health.Status != "ok" {
		t.Errorf("health = %+v", health)
	}

	second := testConfig(t)
	second.Store = url
	if s2, err := server.New(ctx, second, discardLogger()); err == nil {
		serveHealth(t, s2)
		t.Fatal("a second server on the same database started")
	} else if !errors.Is(err, errdefs.ErrFailedPrecondition) || !strings.Contains(err.Error(), "another soulbox server is running on this database") {
		t.Fatalf("second server: %v, want failed precondition naming the other server", err)
	}

	// The first server's database session ends: it stops, saying why.
	c.Exec(t, "postgres", `SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted`)
	select {
	case err := <-done:
		if !errors.Is(err, errdefs.ErrUnavailable) || !strings.Contains(err.Error(), "leadership") {
			t.Errorf("Run after its session ended: %v, want unavailable naming the leadership", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("server kept running after losing its database session")
	}

	// Now that it is gone, the second may start; it is stopped at once.
	s2, err := server.New(ctx, second, discardLogger())
	if err != nil {
		t.Fatalf("second server after the first stopped: %v", err)
	}
	serveHealth(t, s2)

	// A database a newer binary migrated is refused before anything starts.
	c.Exec(t, strings.TrimPrefix(strings.Split(url, "?")[0], "postgres:///"),
		`INSERT INTO schema_migrations (version, applied_at) SELECT MAX(version) + 1, 0 FROM schema_migrations`)
	if s3, err := server.New(ctx, second, discardLogger()); err == nil {
		serveHealth(t, s3)
		t.Fatal("a server started on a database with a newer schema")
	} else if !errors.Is(err, errdefs.ErrFailedPrecondition) || !strings.Contains(err.Error(), "newer than this binary supports") {
		t.Fatalf("newer schema: %v, want failed precondition saying so", err)
	}
}

// serveHealth runs srv until it answers /health, then stops it.
func serveHealth(t *testing.T, srv *server.Server) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	var health struct {
		Status string `json:"status"`
	}
	getJSON(t, "http://"+srv.Addr()+"/health", http.StatusOK, &health)
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run: %v", err)
	}
}

func TestBadStoreRefused(t *testing.T) {
	for _, spec := range []string{"mysql://db/soulbox", "/var/lib/soulbox/soulbox.db"} {
		cfg := server.Defaults()
		cfg.Store = spec
		err := cfg.Validate()
		if !errors.Is(err, errdefs.ErrInvalidArgument) || !strings.Contains(err.Error(), "want a postgres:// URL") {
			t.Errorf("store %q: %v, want invalid argument saying what a store is", spec, err)
		}
	}
	cfg := server.Defaults().FromEnv(func(name string) string {
		if name == "SOULBOX_STORE" {
			return "postgres://db/soulbox"
		}
		return ""
	})
	if cfg.Store != "postgres://db/soulbox" {
		t.Errorf("SOULBOX_STORE gave store %q", cfg.Store)
	}
}
