package registry_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"connectrpc.com/connect"

	nodev1 "github.com/soulbox/soulbox/api/node/v1"
	"github.com/soulbox/soulbox/api/node/v1/nodev1connect"
	"github.com/soulbox/soulbox/internal/registry"
	"github.com/soulbox/soulbox/internal/scheduler"
	"github.com/soulbox/soulbox/internal/store"
)

// pooledEnv is a registry with two joined nodes serving sandboxes, both
// heartbeating through the node service: node-p reports pooled (and
// ready, which may be nil as from a node that does not count), node-q
// no pool. node-p has a paused sandbox recorded before its report.
func pooledEnv(t *testing.T, pooled []string, ready []int64) (*env, nodev1connect.NodeServiceClient) {
	t.Helper()
	ctx := context.Background()
	e := newEnv(t)
	clients := map[string]nodev1connect.NodeServiceClient{}
	for _, name := range []string{"node-p", "node-q"} {
		dir := t.TempDir()
		if err := e.join(t, dir, name, e.token(t)); err != nil {
			t.Fatal(err)
		}
		clients[name] = clientOf(t, dir, e.url)
	}
	// A paused sandbox the store counts live and the node, which no
	// longer runs it, does not: not a create placed since the report.
	if err := e.st.CreateSandbox(ctx, store.Sandbox{ID: "paused", TemplateID: "base", ClientID: "t", State: store.StatePaused, CPUCount: 1, MemoryMB: 512, Node: "node-p"}); err != nil {
		t.Fatal(err)
	}
	for name, c := range clients {
		capa := &nodev1.Capacity{CpuCount: 8, MemoryTotalBytes: 16 << 30, ServiceAddress: "127.0.0.1:1"}
		if name == "node-p" {
			capa.PooledTemplates, capa.PooledReady = pooled, ready
		}
		if _, err := c.Heartbeat(ctx, connect.NewRequest(&nodev1.HeartbeatRequest{Capacity: capa})); err != nil {
			t.Fatalf("%s heartbeat: %v", name, err)
		}
	}
	return e, clients["node-p"]
}

// placeBurst places n creates of base for team t, alternately through
// each of regs (control-plane replicas on one store), recording each in
// the store as a create does, and returns where they went.
func placeBurst(t *testing.T, st store.Store, regs []*registry.Registry, n int) []string {
	t.Helper()
	ctx := context.Background()
	var got []string
	for i := range n {
		d, err := regs[i%len(regs)].Place(ctx, scheduler.Request{Template: "base", CPU: 1, MemoryBytes: 512 << 20, Team: "t"})
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, d.NodeID)
		if err := st.CreateSandbox(ctx, store.Sandbox{ID: fmt.Sprintf("sb%d", i), TemplateID: "base", ClientID: "t", State: store.StateRunning, CPUCount: 1, MemoryMB: 512, Node: d.NodeID}); err != nil {
			t.Fatal(err)
		}
	}
	return got
}

// TestHeartbeatPooledReady: a heartbeat's counts of ready sandboxes are
// stored with the store's live sandboxes on the node at that moment; a
// burst of creates, through two control-plane replicas on the one store,
// takes the pooled node's two ready sandboxes and spreads the rest; the
// node's next heartbeat makes its pool count again.
func TestHeartbeatPooledReady(t *testing.T) {
	ctx := context.Background()
	e, cp := pooledEnv(t, []string{"base"}, []int64{2})
	n, err := e.st.GetNode(ctx, "node-p")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(n.Report.Pooled, []string{"base"}) || !slices.Equal(n.Report.PooledReady, []int{2}) || n.Report.LiveAtReport != 1 {
		t.Fatalf("stored report: pooled %v ready %v live at report %d; want [base] [2] 1", n.Report.Pooled, n.Report.PooledReady, n.Report.LiveAtReport)
	}
	other, err := registry.New(ctx, registry.Config{Store: e.st, CA: e.ca})
	if err != nil {
		t.Fatal(err)
	}
	got := placeBurst(t, e.st, []*registry.Registry{e.reg, other}, 6)
	if want := []string{"node-p", "node-p", "node-q", "node-q", "node-q", "node-p"}; !slices.Equal(got, want) {
		t.Errorf("burst placed %v, want %v (the pool's two, then spread)", got, want)
	}

	// The node's next report, with its pool refilled, is believed again.
	if _, err := cp.Heartbeat(ctx, connect.NewRequest(&nodev1.HeartbeatRequest{Capacity: &nodev1.Capacity{CpuCount: 8, MemoryTotalBytes: 16 << 30,
		Sandboxes: 3, ServiceAddress: "127.0.0.1:1", PooledTemplates: []string{"base"}, PooledReady: []int64{1}}})); err != nil {
		t.Fatal(err)
	}
	if n, _ := e.st.GetNode(ctx, "node-p"); n.Report.LiveAtReport != 4 {
		t.Errorf("live at the second report = %d, want 4 (1 paused, 3 placed)", n.Report.LiveAtReport)
	}
	fresh, err := registry.New(ctx, registry.Config{Store: e.st, CA: e.ca})
	if err != nil {
		t.Fatal(err)
	}
	d, err := fresh.Place(ctx, scheduler.Request{Template: "base", CPU: 1, MemoryBytes: 512 << 20, Team: "t"})
	if err != nil || d.NodeID != "node-p" {
		t.Errorf("after the refill: %+v, %v; want node-p for its warm sandbox (node-q has fewer of the team)", d, err)
	}
}

// TestHeartbeatPooledOldReport: a heartbeat naming pooled templates
// without counts, as a node older than the counts sends, stores none and
// means one ready: the first create goes there, the next elsewhere.
func TestHeartbeatPooledOldReport(t *testing.T) {
	e, _ := pooledEnv(t, []string{"base"}, nil)
	if n, _ := e.st.GetNode(context.Background(), "node-p"); n.Report.PooledReady != nil || !slices.Equal(n.Report.Pooled, []string{"base"}) {
		t.Fatalf("stored report: pooled %v ready %v", n.Report.Pooled, n.Report.PooledReady)
	}
	if got := placeBurst(t, e.st, []*registry.Registry{e.reg}, 2); !slices.Equal(got, []string{"node-p", "node-q"}) {
		t.Errorf("placed %v, want node-p (its one warm sandbox) then node-q", got)
	}
}

// TestHeartbeatPooledReadyRefused: counts that do not pair with the
// pooled templates, or count none, are an impossible report.
func TestHeartbeatPooledReadyRefused(t *testing.T) {
	for _, c := range []struct {
		pooled []string
		ready  []int64
		want   string
	}{
		{[]string{"base"}, []int64{1, 2}, "2 pooled_ready counts for 1 pooled_templates"},
		{nil, []int64{1}, "1 pooled_ready counts for 0 pooled_templates"},
		{[]string{"base"}, []int64{0}, "pooled_ready 0"},
		{[]string{"base"}, []int64{-4}, "pooled_ready -4"},
	} {
		_, err := registry.ReportOf(&nodev1.Capacity{CpuCount: 1, MemoryTotalBytes: 1 << 30, PooledTemplates: c.pooled, PooledReady: c.ready})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("pooled %v ready %v: %v, want %q", c.pooled, c.ready, err, c.want)
		}
	}
}
