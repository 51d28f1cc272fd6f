package nodelease_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/nodelease"
	"github.com/soulbox/soulbox/internal/runtime"
	"github.com/soulbox/soulbox/internal/runtime/oci"
	"github.com/soulbox/soulbox/internal/runtime/oci/ocitest"
	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/sqlite"
)

// TestKeeper drives the keeper by its clock against a real store and a
// real runtime standing for node n1's. At its first check the node is
// settled: the sandboxes its runtime holds that the store does not
// record live on it (one ended, one never recorded) are destroyed, the
// live ones kept, and so is one recorded resuming on another node (being
// moved to this one). Silent up to its lease, nothing is lost; past it, the
// node's running sandbox ends once as lost naming the node, its paused
// one (which runs nothing) stays paused, kept when the node returns,
// and the embedded node's sandbox runs on.
func TestKeeper(t *testing.T) {
	ctx := context.Background()
	d, err := oci.New(oci.Config{Root: ocitest.Root(t), AgentPath: ocitest.AgentBinary(t), Templates: ocitest.Templates(t)})
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "soulbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	t0 := time.Now().Add(-time.Hour).Truncate(time.Second)
	if err := st.CreateNodeToken(ctx, store.NodeToken{ID: "tok", Hash: "hash", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := st.JoinNode(ctx, "hash", store.Node{ID: "n1", Status: store.NodeReady, CertFingerprint: "fp"}, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := st.RecordNodeHeartbeat(ctx, "n1", store.NodeReport{CPUCount: 1, ServiceAddress: "127.0.0.1:1"}, false, t0); err != nil {
		t.Fatal(err)
	}
	for _, sb := range []struct{ id, node string }{{"kept", "n1"}, {"ended", "n1"}, {"here", ""}, {"paused", "n1"}} {
		if err := st.CreateSandbox(ctx, store.Sandbox{ID: sb.id, TemplateID: "base", State: store.StateStarting, Node: sb.node}); err != nil {
			t.Fatal(err)
		}
		if err := st.SetState(ctx, sb.id, []store.SandboxState{store.StateStarting}, store.StateRunning, store.Event{Type: store.EventStarted}); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.EndSandbox(ctx, "ended", store.ReasonKilled, "", t0); err != nil {
		t.Fatal(err)
	}
	if err := st.SetState(ctx, "paused", []store.SandboxState{store.StateRunning}, store.StatePaused, store.Event{Type: store.EventPaused}); err != nil {
		t.Fatal(err)
	}
	// Paused on node n0 and being moved to n1: resuming, still recorded
	// on n0 until n1 has made it.
	if err := st.CreateSandbox(ctx, store.Sandbox{ID: "moving", TemplateID: "base", State: store.StateStarting, Node: "n0"}); err != nil {
		t.Fatal(err)
	}
	for _, step := range [][2]store.SandboxState{{store.StateStarting, store.StateRunning}, {store.StateRunning, store.StatePausing},
		{store.StatePausing, store.StatePaused}, {store.StatePaused, store.StateResuming}} {
		if err := st.SetState(ctx, "moving", []store.SandboxState{step[0]}, step[1], store.Event{Type: store.EventResuming}); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []string{"kept", "ended", "stray", "paused", "moving"} {
		if _, err := d.Create(ctx, runtime.Spec{ID: id, Template: "base"}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = d.Destroy(context.Background(), id) })
	}

	const timeout, lease = 3 * time.Second, 10 * time.Second
	now := t0
	lost := map[string]int{}
	k, err := nodelease.New(nodelease.Config{Store: st, Lease: lease, HeartbeatTimeout: timeout, Now: func() time.Time { return now },
		Runtime: func(_ context.Context, node string) (nodelease.Runtime, error) {
			if node != "n1" {
				t.Errorf("runtime of node %q asked for", node)
			}
			return d, nil
		},
		Lose: func(ctx context.Context, id, msg string) error {
			err := st.EndSandbox(ctx, id, store.ReasonLost, msg, now)
			if errdefs.IsFailedPrecondition(err) {
				return errdefs.ErrNotFound
			}
			if err == nil {
				lost[id]++
			}
			return err
		}})
	if err != nil {
		t.Fatal(err)
	}
	held := func() []string {
		l, err := d.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, i := range l {
			ids = append(ids, i.ID)
		}
		return ids
	}

	now = t0.Add(timeout / 2)
	if err := k.Check(ctx); err != nil {
		t.Fatal(err)
	}
	if ids := held(); len(ids) != 3 || !slices.Contains(ids, "kept") || !slices.Contains(ids, "paused") || !slices.Contains(ids, "moving") {
		t.Errorf("after settling the node holds %v, want kept, paused and the sandbox moving to it", ids)
	}
	// The move done elsewhere, it leaves the rest as it was.
	if err := d.Destroy(ctx, "moving"); err != nil && !errdefs.IsNotFound(err) {
		t.Fatal(err)
	}

	now = t0.Add(lease)
	if err := k.Check(ctx); err != nil {
		t.Fatal(err)
	}
	if sb, _ := st.GetSandbox(ctx, "kept"); sb.State != store.StateRunning {
		t.Errorf("silent for its lease, not past it: kept is %s", sb.State)
	}

	now = t0.Add(lease + time.Second)
	for range 2 {
		if err := k.Check(ctx); err != nil {
			t.Fatal(err)
		}
	}
	sb, _ := st.GetSandbox(ctx, "kept")
	if sb.State != store.StateEnded || sb.EndReason != store.ReasonLost || !strings.Contains(sb.EndMessage, "node n1 silent since "+t0.UTC().Format(time.RFC3339)) {
		t.Errorf("past the lease kept is %s %s %q, want ended lost naming the node", sb.State, sb.EndReason, sb.EndMessage)
	}
	if lost["kept"] != 1 || len(lost) != 1 {
		t.Errorf("lost %v, want kept once", lost)
	}
	if sb, _ := st.GetSandbox(ctx, "paused"); sb.State != store.StatePaused {
		t.Errorf("past the lease the paused sandbox is %s %s, want paused", sb.State, sb.EndReason)
	}
	if sb, _ := st.GetSandbox(ctx, "here"); sb.State != store.StateRunning {
		t.Errorf("the embedded node's sandbox is %s", sb.State)
	}
	if sb, _ := st.GetSandbox(ctx, "ended"); sb.EndReason != store.ReasonKilled {
		t.Errorf("an ended sandbox's reason changed to %s", sb.EndReason)
	}

	// Back: settled again, the lost sandbox destroyed.
	if _, err := st.RecordNodeHeartbeat(ctx, "n1", store.NodeReport{CPUCount: 1, ServiceAddress: "127.0.0.1:1"}, false, now); err != nil {
		t.Fatal(err)
	}
	if err := k.Check(ctx); err != nil {
		t.Fatal(err)
	}
	if ids := held(); len(ids) != 1 || ids[0] != "paused" {
		t.Errorf("the returning node holds %v, want only the paused sandbox", ids)
	}
}

// TestNewRefusesShortLease: a lease must outlast the heartbeat timeout.
func TestNewRefusesShortLease(t *testing.T) {
	for _, lease := range []time.Duration{time.Second, 3 * time.Second} {
		if _, err := nodelease.New(nodelease.Config{Lease: lease, HeartbeatTimeout: 3 * time.Second}); !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("lease %s over a 3s timeout: %v", lease, err)
		}
	}
}
