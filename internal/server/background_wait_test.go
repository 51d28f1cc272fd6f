package server_test

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/auth"
	"github.com/soulbox/soulbox/internal/server"
	"github.com/soulbox/soulbox/internal/store/postgres/pgtest"
	"github.com/soulbox/soulbox/internal/testutil"
)

// backgroundLeft names the background work's goroutines still running:
// the joined nodes' heartbeat monitor and their leases.
func backgroundLeft() []string {
	buf := make([]byte, 1<<22)
	stacks := string(buf[:runtime.Stack(buf, true)])
	var left []string
	for _, fn := range []string{"registry.(*Registry).Monitor", "nodelease.(*Keeper).Run"} {
		if strings.Contains(stacks, fn) {
			left = append(left, fn)
		}
	}
	return left
}

// TestBackgroundWorkWaited: when Run returns (and the store is closed
// after it) the background work has ended, on a control plane alone on
// SQLite and on a replica that led it on PostgreSQL: none of it runs on
// against a closed store or beside the next leader.
func TestBackgroundWorkWaited(t *testing.T) {
	testutil.RequiresRoot(t)
	adminKey, _, _ := auth.Generate()
	alone := testConfig(t)
	alone.EmbeddedNode, alone.NodeListen, alone.AdminKey = "off", freeAddr(t), adminKey
	replica := replicaConfig(t, pgtest.Start(t).NewDatabase(t), t.TempDir(), adminKey)
	for name, cfg := range map[string]server.Config{"sqlite": alone, "replica": replica} {
		for i := 0; i < 3; i++ {
			s, err := server.New(context.Background(), cfg, discardLogger())
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- s.Run(ctx) }()
			for deadline := time.Now().Add(30 * time.Second); len(backgroundLeft()) < 2; time.Sleep(10 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("%s: the background work never started: %v", name, backgroundLeft())
				}
			}
			cancel()
			if err := <-done; err != nil {
				t.Fatalf("%s: run: %v", name, err)
			}
			if left := backgroundLeft(); len(left) > 0 {
				t.Fatalf("%s: after Run returned, still running: %v", name, left)
			}
		}
	}
}
