package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
)

// testNodesSilentDelete: the monitor's compare-and-set on status and
// last heartbeat, the read-only token lookup and node deletion.
func (s *suite) testNodesSilentDelete(t *testing.T) {
	ctx := context.Background()

	t.Run("MarkNodeSilent", func(t *testing.T) {
		st := s.open(t)
		if err := st.EnsureNode(ctx, store.Node{ID: "n1", Status: store.NodeReady, JoinedAt: t0}); err != nil {
			t.Fatal(err)
		}
		ready := []store.NodeStatus{store.NodeReady}
		// Never heartbeated: its join counts.
		if err := st.MarkNodeSilent(ctx, "n1", ready, t0, "silent", at(time.Second)); !errors.Is(err, errdefs.ErrFailedPrecondition) {
			t.Errorf("a node joined at the cut-off: %v", err)
		}
		if _, err := st.RecordNodeHeartbeat(ctx, "n1", store.NodeReport{CPUCount: 1}, false, at(10*time.Second)); err != nil {
			t.Fatal(err)
		}
		// The monitor read the node before this heartbeat and decided it
		// was silent since 5s: the heartbeat at 10s wins.
		err := st.MarkNodeSilent(ctx, "n1", ready, at(5*time.Second), "no heartbeat since 0s", at(20*time.Second))
		if !errors.Is(err, errdefs.ErrFailedPrecondition) {
			t.Errorf("a node that heartbeated after the cut-off: %v", err)
		}
		if n, _ := st.GetNode(ctx, "n1"); n.Status != store.NodeReady {
			t.Errorf("a refused mark changed the node: %+v", n)
		}
		// A status not in from.
		if err := st.MarkNodeSilent(ctx, "n1", []store.NodeStatus{store.NodeDraining}, at(time.Hour), "x", at(time.Hour)); !errors.Is(err, errdefs.ErrFailedPrecondition) {
			t.Errorf("a node of another status: %v", err)
		}
		if err := st.MarkNodeSilent(ctx, "n1", ready, at(11*time.Second), "no heartbeat since 10s", at(30*time.Second)); err != nil {
			t.Fatal(err)
		}
		n, _ := st.GetNode(ctx, "n1")
		if n.Status != store.NodeUnhealthy || n.StatusBy != store.ByControlPlane || n.StatusReason != "no heartbeat since 10s" ||
			!n.StatusAt.Equal(at(30*time.Second)) || !n.HeartbeatAt.Equal(at(10*time.Second)) {
			t.Errorf("a silent node: %+v", n)
		}
		if err := st.MarkNodeSilent(ctx, "nope", ready, at(time.Hour), "x", at(time.Hour)); !errors.Is(err, errdefs.ErrNotFound) {
			t.Errorf("an unknown node: %v", err)
		}
		if err := st.MarkNodeSilent(ctx, "n1", nil, at(time.Hour), "x", at(time.Hour)); !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("no from: %v", err)
		}
	})

	t.Run("NodeTokenByHash", func(t *testing.T) {
		st := s.open(t)
		tk := nodeToken("look", at(time.Hour))
		if err := st.CreateNodeToken(ctx, tk); err != nil {
			t.Fatal(err)
		}
		got, err := st.NodeTokenByHash(ctx, "hash-look")
		if err != nil || got.ID != tk.ID || !got.ExpiresAt.Equal(tk.ExpiresAt) || got.UsedAt != nil {
			t.Errorf("token by hash: %+v, %v", got, err)
		}
		if _, err := st.NodeTokenByHash(ctx, "hash-nope"); !errors.Is(err, errdefs.ErrNotFound) {
			t.Errorf("an unknown hash: %v", err)
		}
	})

	t.Run("DeleteNode", func(t *testing.T) {
		st := s.open(t)
		if err := st.EnsureNode(ctx, store.Node{ID: "local", Embedded: true, Status: store.NodeReady, JoinedAt: t0}); err != nil {
			t.Fatal(err)
		}
		if err := st.CreateNodeToken(ctx, nodeToken("first", at(time.Hour))); err != nil {
			t.Fatal(err)
		}
		if err := st.JoinNode(ctx, "hash-first", store.Node{ID: "n1", Status: store.NodeReady, CertFingerprint: "fp1"}, at(time.Second)); err != nil {
			t.Fatal(err)
		}
		if err := st.DeleteNode(ctx, "local", nil); !errors.Is(err, errdefs.ErrFailedPrecondition) {
			t.Errorf("deleting the embedded node: %v", err)
		}
		busy := fmt.Errorf("busy: %w", errdefs.ErrFailedPrecondition)
		var seen store.Node
		if err := st.DeleteNode(ctx, "n1", func(n store.Node) error { seen = n; return busy }); !errors.Is(err, busy) {
			t.Errorf("a refused delete: %v", err)
		}
		if seen.ID != "n1" || seen.CertFingerprint != "fp1" {
			t.Errorf("check was given %+v", seen)
		}
		if _, err := st.GetNode(ctx, "n1"); err != nil {
			t.Errorf("a refused delete removed the node: %v", err)
		}
		if err := st.DeleteNode(ctx, "n1", func(store.Node) error { return nil }); err != nil {
			t.Fatal(err)
		}
		if _, err := st.GetNode(ctx, "n1"); !errors.Is(err, errdefs.ErrNotFound) {
			t.Errorf("a deleted node: %v", err)
		}
		if err := st.DeleteNode(ctx, "n1", nil); !errors.Is(err, errdefs.ErrNotFound) {
			t.Errorf("deleting twice: %v", err)
		}
		// The name joins again with a new token and a new fingerprint.
		if err := st.CreateNodeToken(ctx, nodeToken("second", at(time.Hour))); err != nil {
			t.Fatal(err)
		}
		if err := st.JoinNode(ctx, "hash-second", store.Node{ID: "n1", Status: store.NodeReady, CertFingerprint: "fp2"}, at(time.Minute)); err != nil {
			t.Fatalf("rejoin after delete: %v", err)
		}
		if n, _ := st.GetNode(ctx, "n1"); n.CertFingerprint != "fp2" {
			t.Errorf("rejoined node %+v", n)
		}
		if n, _ := st.GetNode(ctx, "local"); !n.Embedded {
			t.Errorf("the embedded node: %+v", n)
		}
	})
}
