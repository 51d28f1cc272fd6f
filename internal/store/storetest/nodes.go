package storetest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
)

func nodeToken(name string, expires time.Time) store.NodeToken {
	return store.NodeToken{ID: "tok-" + name, Hash: "hash-" + name, CreatedAt: t0, ExpiresAt: expires}
}

func (s *suite) testNodes(t *testing.T) {
	ctx := context.Background()

	t.Run("Tokens", func(t *testing.T) {
		st := s.open(t)
		a, b := nodeToken("a", at(time.Hour)), nodeToken("b", at(time.Hour))
		for _, tk := range []store.NodeToken{a, b} {
			if err := st.CreateNodeToken(ctx, tk); err != nil {
				t.Fatal(err)
			}
		}
		if err := st.CreateNodeToken(ctx, a); !errors.Is(err, errdefs.ErrAlreadyExists) {
			t.Errorf("duplicate token: %v", err)
		}
		for _, bad := range []store.NodeToken{{ID: "x", Hash: "h"}, {ID: "x", ExpiresAt: t0}, {ID: "x", Hash: "h", ExpiresAt: t0, UsedBy: "n"}} {
			if err := st.CreateNodeToken(ctx, bad); !errors.Is(err, errdefs.ErrInvalidArgument) {
				t.Errorf("token %+v: %v", bad, err)
			}
		}
		if err := st.RevokeNodeToken(ctx, b.ID, at(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := st.RevokeNodeToken(ctx, b.ID, at(2*time.Minute)); !errors.Is(err, errdefs.ErrFailedPrecondition) {
			t.Errorf("revoking twice: %v", err)
		}
		if err := st.RevokeNodeToken(ctx, "nope", t0); !errors.Is(err, errdefs.ErrNotFound) {
			t.Errorf("revoking an unknown token: %v", err)
		}
		got, err := st.ListNodeTokens(ctx)
		if err != nil {
			t.Fatal(err)
		}
		b.RevokedAt = ptr(at(time.Minute))
		if diff := cmp.Diff([]store.NodeToken{a, b}, got); diff != "" {
			t.Errorf("tokens (-want +got):\n%s", diff)
		}
	})

	t.Run("Join", func(t *testing.T) {
		st := s.open(t)
		for _, tk := range []store.NodeToken{nodeToken("ok", at(time.Hour)), nodeToken("old", at(time.Minute)), nodeToken("revoked", at(time.Hour))} {
			if err := st.CreateNodeToken(ctx, tk); err != nil {
				t.Fatal(err)
			}
		}
		if err := st.RevokeNodeToken(ctx, "tok-revoked", t0); err != nil {
			t.Fatal(err)
		}
		n := store.Node{ID: "node-1", Status: store.NodeReady, CertFingerprint: "fp1"}
		// Refusals change nothing.
		for _, c := range []struct {
			hash string
			at   time.Time
			want error
		}{
			{"hash-unknown", at(time.Second), errdefs.ErrPermissionDenied},
			{"hash-old", at(time.Minute), errdefs.ErrPermissionDenied},
			{"hash-revoked", at(time.Second), errdefs.ErrPermissionDenied},
		} {
			if err := st.JoinNode(ctx, c.hash, n, c.at); !errors.Is(err, c.want) {
				t.Errorf("join with %s: %v, want %v", c.hash, err, c.want)
			}
		}
		if ns, _ := st.ListNodes(ctx); len(ns) != 0 {
			t.Fatalf("refused joins registered %+v", ns)
		}
		if err := st.JoinNode(ctx, "hash-ok", n, at(time.Second)); err != nil {
			t.Fatal(err)
		}
		got, err := st.GetNode(ctx, "node-1")
		want := store.Node{ID: "node-1", Status: store.NodeReady, StatusAt: at(time.Second), CertFingerprint: "fp1", JoinedAt: at(time.Second)}
		if err != nil || !cmp.Equal(want, got) {
			t.Errorf("joined node %+v, %v; want %+v", got, err, want)
		}
		// The token is spent: a second join with it is refused.
		n2 := store.Node{ID: "node-2", Status: store.NodeReady}
		if err := st.JoinNode(ctx, "hash-ok", n2, at(2*time.Second)); !errors.Is(err, errdefs.ErrPermissionDenied) {
			t.Errorf("reused token: %v", err)
		}
		toks, _ := st.ListNodeTokens(ctx)
		for _, tk := range toks {
			if tk.ID == "tok-ok" && (tk.UsedBy != "node-1" || tk.UsedAt == nil || !tk.UsedAt.Equal(at(time.Second))) {
				t.Errorf("used token %+v", tk)
			}
		}
		// A name already registered is refused and the token stays unused.
		if err := st.CreateNodeToken(ctx, nodeToken("again", at(time.Hour))); err != nil {
			t.Fatal(err)
		}
		if err := st.JoinNode(ctx, "hash-again", n, at(3*time.Second)); !errors.Is(err, errdefs.ErrAlreadyExists) {
			t.Errorf("join of a registered name: %v", err)
		}
		toks, _ = st.ListNodeTokens(ctx)
		for _, tk := range toks {
			if tk.ID == "tok-again" && tk.UsedAt != nil {
				t.Errorf("a refused join spent its token: %+v", tk)
			}
		}
		if _, err := st.GetNode(ctx, "node-2"); !errors.Is(err, errdefs.ErrNotFound) {
			t.Errorf("unknown node: %v", err)
		}
	})

	t.Run("OneJoinPerToken", func(t *testing.T) {
		st := s.open(t)
		if err := st.CreateNodeToken(ctx, nodeToken("race", at(time.Hour))); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make([]error, 4)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = st.JoinNode(ctx, "hash-race", store.Node{ID: "racer-" + string(rune('a'+i)), Status: store.NodeReady}, at(time.Second))
			}()
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			if err == nil {
				ok++
			} else if !errors.Is(err, errdefs.ErrPermissionDenied) {
				t.Errorf("a losing join: %v", err)
			}
		}
		if ns, _ := st.ListNodes(ctx); ok != 1 || len(ns) != 1 {
			t.Errorf("%d joins succeeded with one token, %d nodes", ok, len(ns))
		}
	})

	t.Run("StatusAndHeartbeats", func(t *testing.T) {
		st := s.open(t)
		if err := st.EnsureNode(ctx, store.Node{ID: "local", Embedded: true, Status: store.NodeReady, JoinedAt: t0}); err != nil {
			t.Fatal(err)
		}
		// EnsureNode keeps what exists.
		if err := st.SetNodeStatus(ctx, "local", []store.NodeStatus{store.NodeReady}, store.NodeDraining, store.ByAdmin, "maintenance", at(time.Second)); err != nil {
			t.Fatal(err)
		}
		if err := st.EnsureNode(ctx, store.Node{ID: "local", Embedded: true, Status: store.NodeReady, JoinedAt: t0}); err != nil {
			t.Fatal(err)
		}
		if n, _ := st.GetNode(ctx, "local"); n.Status != store.NodeDraining || n.StatusReason != "maintenance" || n.StatusBy != store.ByAdmin || !n.Embedded {
			t.Errorf("local after EnsureNode: %+v", n)
		}
		if err := st.SetNodeStatus(ctx, "local", []store.NodeStatus{store.NodeReady}, store.NodeDraining, store.ByAdmin, "", at(time.Second)); !errors.Is(err, errdefs.ErrFailedPrecondition) {
			t.Errorf("a change from the wrong status: %v", err)
		}
		if err := st.SetNodeStatus(ctx, "local", []store.NodeStatus{"asleep"}, store.NodeReady, store.ByAdmin, "", t0); !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("an unknown status: %v", err)
		}
		if err := st.SetNodeStatus(ctx, "nope", []store.NodeStatus{store.NodeReady}, store.NodeDraining, store.ByAdmin, "", t0); !errors.Is(err, errdefs.ErrNotFound) {
			t.Errorf("an unknown node: %v", err)
		}

		if err := st.EnsureNode(ctx, store.Node{ID: "n1", Status: store.NodeReady, JoinedAt: at(time.Second)}); err != nil {
			t.Fatal(err)
		}
		r := store.NodeReport{CPUCount: 4, CPUPercent: 12.5, MemoryTotalBytes: 8 << 30, MemoryUsedBytes: 1 << 30, Sandboxes: 2, Templates: []string{"base"}, ObjectStorage: true,
			Pooled: []string{"base", "other"}, PooledReady: []int{3, 1}, LiveAtReport: 5}
		if _, err := st.RecordNodeHeartbeat(ctx, "n1", r, false, at(2*time.Second)); err != nil {
			t.Fatal(err)
		}
		if err := st.SetNodeStatus(ctx, "n1", []store.NodeStatus{store.NodeReady}, store.NodeUnhealthy, store.ByControlPlane, "no heartbeat for 10s", at(20*time.Second)); err != nil {
			t.Fatal(err)
		}
		n, _ := st.GetNode(ctx, "n1")
		if n.Status != store.NodeUnhealthy || n.StatusReason != "no heartbeat for 10s" || !n.HeartbeatAt.Equal(at(2*time.Second)) || !cmp.Equal(n.Report, r) {
			t.Errorf("unhealthy node: %+v", n)
		}
		// A heartbeat brings it back; a shutdown drains it; the next start readies it.
		for _, c := range []struct {
			draining bool
			want     store.NodeStatus
		}{{false, store.NodeReady}, {true, store.NodeDraining}, {false, store.NodeReady}} {
			got, err := st.RecordNodeHeartbeat(ctx, "n1", r, c.draining, at(30*time.Second))
			if err != nil || got.Status != c.want {
				t.Errorf("heartbeat draining=%v: %+v, %v; want %s", c.draining, got, err, c.want)
			}
		}
		// An admin's drain outlives heartbeats.
		if err := st.SetNodeStatus(ctx, "n1", []store.NodeStatus{store.NodeReady}, store.NodeDraining, store.ByAdmin, "", at(31*time.Second)); err != nil {
			t.Fatal(err)
		}
		if got, _ := st.RecordNodeHeartbeat(ctx, "n1", r, false, at(32*time.Second)); got.Status != store.NodeDraining {
			t.Errorf("a heartbeat undid an admin's drain: %+v", got)
		}
		if _, err := st.RecordNodeHeartbeat(ctx, "nope", r, false, t0); !errors.Is(err, errdefs.ErrNotFound) {
			t.Errorf("heartbeat of an unknown node: %v", err)
		}
		ns, err := st.ListNodes(ctx)
		if err != nil || len(ns) != 2 || ns[0].ID != "local" || ns[1].ID != "n1" {
			t.Errorf("nodes %+v, %v", ns, err)
		}
	})
}
