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

// TestReplicaWithOtherKeysRefused: a replica whose keys dir holds other
// keys than the first replica's (each left on its own data dir) is
// refused at start, naming the key file, instead of serving access
// tokens the other refuses and breaking the audit chain; the first
// keeps serving, and started again on its own keys it is accepted.
func TestReplicaWithOtherKeysRefused(t *testing.T) {
	testutil.RequiresRoot(t)
	pg := pgtest.Start(t)
	url := pg.NewDatabase(t)
	adminKey, _, _ := auth.Generate()
	firstCfg := replicaConfig(t, url, "", adminKey) // keys in its data dir
	first, err := server.New(context.Background(), firstCfg, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- first.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})

	second := replicaConfig(t, url, "", adminKey)
	if s, err := server.New(context.Background(), second, discardLogger()); err == nil {
		serveHealth(t, s)
		t.Fatal("a replica with other keys started")
	} else if !errors.Is(err, errdefs.ErrFailedPrecondition) || !strings.Contains(err.Error(), second.DataDir+"/audit.key") {
		t.Errorf("a replica with other keys: %v, want failed precondition naming %s/audit.key", err, second.DataDir)
	}
	c := apiClient{t: t, base: "http://" + first.Addr(), key: adminKey}
	c.want(200, "GET", "/v2/sandboxes", nil, nil)

	again := replicaConfig(t, url, firstCfg.DataDir, adminKey)
	s, err := server.New(context.Background(), again, discardLogger())
	if err != nil {
		t.Fatalf("a replica on the first one's keys: %v", err)
	}
	serveHealth(t, s)
}
