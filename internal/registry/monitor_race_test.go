package registry_test

import (
	"context"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/registry"
	"github.com/soulbox/soulbox/internal/store"
)

// beatAfterList is a real store in which node id heartbeats right after
// each ListNodes has read the nodes: the interleaving of a heartbeat
// arriving while the monitor decides.
type beatAfterList struct {
	store.Nodes
	id string
	at func() time.Time
}

func (b beatAfterList) ListNodes(ctx context.Context) ([]store.Node, error) {
	ns, err := b.Nodes.ListNodes(ctx)
	if err == nil {
		_, err = b.Nodes.RecordNodeHeartbeat(ctx, b.id, store.NodeReport{CPUCount: 1, MemoryTotalBytes: 1 << 30}, false, b.at())
	}
	return ns, err
}

// TestMonitorHeartbeatRace: a node whose heartbeat lands after the
// monitor read it as silent stays ready; without the heartbeat it is
// marked unhealthy.
func TestMonitorHeartbeatRace(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if err := e.join(t, t.TempDir(), "node-f", e.token(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.RecordNodeHeartbeat(ctx, "node-f", store.NodeReport{CPUCount: 1, MemoryTotalBytes: 1 << 30}, false, e.clock.now()); err != nil {
		t.Fatal(err)
	}
	e.clock.add(time.Minute) // silent past the timeout as ListNodes reads it
	racing, err := registry.New(ctx, registry.Config{Store: beatAfterList{Nodes: e.st, id: "node-f", at: e.clock.now},
		CA: e.ca, HeartbeatTimeout: 3 * time.Second, Now: e.clock.now})
	if err != nil {
		t.Fatal(err)
	}
	if err := racing.CheckHeartbeats(ctx); err != nil {
		t.Fatal(err)
	}
	if n, _ := e.st.GetNode(ctx, "node-f"); n.Status != store.NodeReady {
		t.Errorf("a node that heartbeated as the monitor checked: %s (%s)", n.Status, n.StatusReason)
	}
	e.clock.add(time.Minute)
	if err := e.reg.CheckHeartbeats(ctx); err != nil {
		t.Fatal(err)
	}
	if n, _ := e.st.GetNode(ctx, "node-f"); n.Status != store.NodeUnhealthy {
		t.Errorf("a silent node: %s", n.Status)
	}
}
