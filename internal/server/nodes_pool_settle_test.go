package server_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/nodelease"
	"github.com/soulbox/soulbox/internal/runtime"
	"github.com/soulbox/soulbox/internal/store/sqlite"
)

// TestJoinedNodeSettleSparesClaim: the control plane settles a
// returning `soulbox node` child (a keeper that has not settled it yet,
// as after the node came back) between a claim from its warm pool and
// the create's record. The claimed sandbox, which the store does not
// record yet, is listed by the node as just claimed and survives the
// settling, so the create that claimed it can record it and use it.
func TestJoinedNodeSettleSparesClaim(t *testing.T) {
	if testing.Short() {
		t.Skip("creates real sandboxes")
	}
	p := startPooledNode(t, "node-c1", "10.247.93.0/24", 1)
	cfg, remote := p.cfg, p.remote
	waitNodePooled(t, p.c, p.rt, p.n, 1)

	ctx := context.Background()
	id := p.claim(t, runtime.Claim{Template: "base", Init: []byte(`{}`)})

	db, err := sqlite.Open(ctx, filepath.Join(cfg.DataDir, "soulbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	k, err := nodelease.New(nodelease.Config{Store: db,
		Lose: func(context.Context, string, string) error { return nil },
		Runtime: func(context.Context, string) (nodelease.Runtime, error) {
			return remote, nil
		},
		Lease: time.Hour, HeartbeatTimeout: time.Minute, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Check(ctx); err != nil {
		t.Fatal(err)
	}
	l, err := remote.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, i := range l {
		if i.ID == id {
			found = true
			if i.ClaimedAt.IsZero() || time.Since(i.ClaimedAt) > time.Minute {
				t.Errorf("the node lists its claimed sandbox claimed at %v, want just now", i.ClaimedAt)
			}
		}
	}
	if !found {
		t.Fatalf("settling the node destroyed sandbox %s, claimed and not yet recorded; the node lists %+v", id, l)
	}
	if info, err := remote.Info(ctx, id); err != nil || info.Status != runtime.StatusRunning {
		t.Errorf("the claimed sandbox after the settling: %+v, %v; want running", info, err)
	}
}

// TestJoinedNodeClaimAskedAgain: a claim asked again with its key, as
// the control plane does when the first answer was lost, gets the same
// sandbox from a `soulbox node` child, even with the node at its
// --max-sandboxes (the sandbox counts already), and spends no other; a
// claim with another key is counted against the bound as any.
func TestJoinedNodeClaimAskedAgain(t *testing.T) {
	if testing.Short() {
		t.Skip("creates real sandboxes")
	}
	p := startPooledNode(t, "node-c2", "10.247.95.0/24", 2, "--max-sandboxes", "1")
	remote := p.remote
	waitNodePooled(t, p.c, p.rt, p.n, 2)

	ctx := context.Background()
	claim := runtime.Claim{Template: "base", Init: []byte(`{}`), Key: "k1"}
	id := p.claim(t, claim)
	again, err := remote.Claim(ctx, claim)
	if err != nil || again != id {
		t.Fatalf("the claim asked again = %q, %v; want %q, its sandbox", again, err, id)
	}
	l, err := remote.List(ctx)
	if err != nil || len(l) != 1 || l[0].ID != id {
		t.Errorf("the node lists %+v, %v; want only %s", l, err, id)
	}
	other := claim
	other.Key = "k2"
	if got, err := remote.Claim(ctx, other); err == nil {
		t.Errorf("a claim with another key past the node's bound = %q, want refused", got)
		_ = remote.Destroy(ctx, got)
	}
}
