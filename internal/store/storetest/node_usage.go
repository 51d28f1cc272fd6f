package storetest

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/soulbox/soulbox/internal/store"
)

// testNodeUsage: the live sandboxes of each node are counted and their
// CPUs and memory summed, with the asked team's among them; ended
// sandboxes count nowhere, a node without live ones is absent, and the
// embedded node is "".
func (s *suite) testNodeUsage(t *testing.T) {
	st := s.open(t)
	ctx := context.Background()
	if got, err := st.NodeUsage(ctx, "client-1"); err != nil || len(got) != 0 {
		t.Fatalf("usage of an empty store = %+v, %v; want none", got, err)
	}
	add := func(id, node, team string, state store.SandboxState, cpus, mem int) {
		t.Helper()
		sb := sandbox(id)
		sb.Node, sb.ClientID, sb.State, sb.CPUCount, sb.MemoryMB = node, team, state, cpus, mem
		if err := st.CreateSandbox(ctx, sb); err != nil {
			t.Fatal(err)
		}
	}
	add("a1", "node-a", "client-1", store.StateRunning, 2, 512)
	add("a2", "node-a", "client-2", store.StateStarting, 1, 256)
	add("a3", "node-a", "client-1", store.StateRunning, 4, 1024)
	add("a-ended", "node-a", "client-1", store.StateRunning, 8, 8192)
	add("b-ended", "node-b", "client-1", store.StateRunning, 8, 8192)
	add("e1", "", "client-2", store.StateRunning, 2, 2048)
	for _, id := range []string{"a-ended", "b-ended"} {
		if err := st.EndSandbox(ctx, id, store.ReasonKilled, "", at(0)); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		team string
		want []store.NodeUsage
	}{
		{"client-1", []store.NodeUsage{
			{Node: "", Sandboxes: 1, CPUs: 2, MemoryMB: 2048},
			{Node: "node-a", Sandboxes: 3, CPUs: 7, MemoryMB: 1792, TeamSandboxes: 2}}},
		{"client-2", []store.NodeUsage{
			{Node: "", Sandboxes: 1, CPUs: 2, MemoryMB: 2048, TeamSandboxes: 1},
			{Node: "node-a", Sandboxes: 3, CPUs: 7, MemoryMB: 1792, TeamSandboxes: 1}}},
		{"", []store.NodeUsage{
			{Node: "", Sandboxes: 1, CPUs: 2, MemoryMB: 2048},
			{Node: "node-a", Sandboxes: 3, CPUs: 7, MemoryMB: 1792}}},
	} {
		got, err := st.NodeUsage(ctx, c.team)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(c.want, got); d != "" {
			t.Errorf("usage for team %q (-want +got):\n%s", c.team, d)
		}
	}
}
