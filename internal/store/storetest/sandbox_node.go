package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/store"
)

// testSandboxNode: the node a sandbox runs on is recorded with it, read
// back by get and list, and kept through its state changes; a sandbox
// recorded without one is on the embedded node ("").
func (s *suite) testSandboxNode(t *testing.T) {
	st := s.open(t)
	ctx := context.Background()
	remote := sandbox("on-node")
	remote.Node = "node-a"
	if err := st.CreateSandbox(ctx, remote); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateSandbox(ctx, sandbox("embedded")); err != nil {
		t.Fatal(err)
	}
	if err := st.SetState(ctx, "on-node", []store.SandboxState{store.StateStarting}, store.StateRunning, store.Event{Type: store.EventStarted, Time: at(time.Second)}); err != nil {
		t.Fatal(err)
	}
	got, err := st.GetSandbox(ctx, "on-node")
	if err != nil || got.Node != "node-a" || got.State != store.StateRunning {
		t.Errorf("get = %+v, %v; want node-a, running", got, err)
	}
	list, err := st.ListSandboxes(ctx, store.SandboxFilter{})
	if err != nil {
		t.Fatal(err)
	}
	nodes := map[string]string{}
	for _, sb := range list {
		nodes[sb.ID] = sb.Node
	}
	if len(nodes) != 2 || nodes["on-node"] != "node-a" || nodes["embedded"] != "" {
		t.Errorf("listed nodes %v", nodes)
	}
	bad := sandbox("bad-node")
	bad.Node = "node\x00a"
	if err := st.CreateSandbox(ctx, bad); err == nil {
		t.Errorf("a node name with a NUL byte was recorded")
	}
}
