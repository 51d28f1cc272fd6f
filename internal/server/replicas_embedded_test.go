package server_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/soulbox/soulbox/internal/auth"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/server"
	"github.com/soulbox/soulbox/internal/store/postgres/pgtest"
	"github.com/soulbox/soulbox/internal/testutil"
)

// TestEmbeddedRefusedBesideStartedReplica: a replica holds the database
// from its start, not only once it leads the background work: a server
// with an embedded node started after a replica's setup, before that
// replica leads anything, is refused; once the replica is gone it
// starts.
func TestEmbeddedRefusedBesideStartedReplica(t *testing.T) {
	testutil.RequiresRoot(t)
	url := pgtest.Start(t).NewDatabase(t)
	adminKey, _, _ := auth.Generate()
	replica, err := server.New(context.Background(), replicaConfig(t, url, t.TempDir(), adminKey), discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	embedded := testConfig(t)
	embedded.Store = url
	if s, err := server.New(context.Background(), embedded, discardLogger()); err == nil {
		serveHealth(t, s)
		t.Fatal("a server with an embedded node started beside a replica that does not lead yet")
	} else if !errors.Is(err, errdefs.ErrFailedPrecondition) || !strings.Contains(err.Error(), "another soulbox server is running on this database") {
		t.Errorf("embedded beside a started replica: %v, want failed precondition saying why", err)
	}
	serveHealth(t, replica) // runs, then stops and lets the database go
	s, err := server.New(context.Background(), embedded, discardLogger())
	if err != nil {
		t.Fatalf("embedded once the replica is gone: %v", err)
	}
	serveHealth(t, s)
}
