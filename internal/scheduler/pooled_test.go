package scheduler

import (
	"slices"
	"testing"
)

// burst places n creates one after another on nodes, counting each on
// the node chosen as the registry does between two heartbeats (the
// store's live sandboxes grow, the report stays), and returns where each
// went.
func burst(t *testing.T, nodes []Node, n int) []string {
	t.Helper()
	req := Request{Template: "base", CPU: 1, MemoryBytes: gib, Team: "t1"}
	var got []string
	for range n {
		d, err := Choose(nodes, req)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, d.NodeID)
		for i := range nodes {
			if nodes[i].ID == d.NodeID {
				nodes[i].PlacedSinceReport++
				nodes[i].Sandboxes++
				nodes[i].AllocatedCPU += req.CPU
				nodes[i].AllocatedMemory += req.MemoryBytes
				nodes[i].TeamSandboxes = map[string]int{"t1": nodes[i].TeamSandboxes["t1"] + 1}
			}
		}
	}
	return got
}

// TestChooseBurstSpendsPool: of a burst of creates, as many as the
// pooled node has ready go there, and the rest spread as if no node had
// a pool, instead of all going cold to the pooled node until its next
// heartbeat.
func TestChooseBurstSpendsPool(t *testing.T) {
	pooled := roomy("b")
	pooled.Pooled, pooled.PooledReady = []string{"other", "base"}, []int{5, 2}
	got := burst(t, []Node{roomy("a"), pooled}, 8)
	if !slices.Equal(got[:2], []string{"b", "b"}) {
		t.Fatalf("first creates went to %v, want the pooled node b twice", got[:2])
	}
	count := map[string]int{}
	for _, id := range got {
		count[id]++
	}
	if count["a"] != 4 || count["b"] != 4 {
		t.Errorf("placements %v: %v, want 4 on each node", got, count)
	}
	// Without the count of placements, every create would have gone to b.
	want := []string{"b", "b", "a", "a", "a", "b", "a", "b"}
	if !slices.Equal(got, want) {
		t.Errorf("placements %v, want %v", got, want)
	}
}

// TestChoosePooledOldReport: a report without counts (from a node that
// does not send them) means at least one ready: the first create since
// it is preferred there, the next not.
func TestChoosePooledOldReport(t *testing.T) {
	pooled := roomy("b")
	pooled.Pooled = []string{"base"}
	got := burst(t, []Node{roomy("a"), pooled}, 2)
	if !slices.Equal(got, []string{"b", "a"}) {
		t.Errorf("placements %v, want b (its one warm sandbox) then a", got)
	}
	// Counts that do not match the templates are not believed either.
	pooled = roomy("b")
	pooled.Pooled, pooled.PooledReady = []string{"base"}, []int{3, 4}
	got = burst(t, []Node{roomy("a"), pooled}, 2)
	if !slices.Equal(got, []string{"b", "a"}) {
		t.Errorf("placements with mismatched counts %v, want b then a", got)
	}
}

// TestChoosePooledSpent: a node whose report says its pool is spent by
// the creates already placed since is not preferred for it.
func TestChoosePooledSpent(t *testing.T) {
	pooled := roomy("a")
	pooled.Pooled, pooled.PooledReady, pooled.PlacedSinceReport = []string{"base"}, []int{3}, 3
	d, err := Choose([]Node{pooled, roomy("b")}, Request{Template: "base", CPU: 1, MemoryBytes: gib})
	if err != nil {
		t.Fatal(err)
	}
	if d.Score >= weightPooled {
		t.Errorf("placed on %s with score %v: the spent pool still counted", d.NodeID, d.Score)
	}
}
