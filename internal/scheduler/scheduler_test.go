package scheduler

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/soulbox/soulbox/internal/errdefs"
)

const gib = 1 << 30

// roomy is a ready node with room, nothing of the template (object
// storage to fetch its layers from) and no team.
func roomy(id string) Node {
	return Node{ID: id, Ready: true, Runs: true, CPUCount: 8, MemoryTotalBytes: 32 * gib, ObjectStorage: true}
}

func TestChoose(t *testing.T) {
	req := Request{Template: "base", Layers: []string{"l1", "l2"}, CPU: 2, MemoryBytes: 2 * gib, Team: "t1"}
	with := func(n Node, f func(*Node)) Node { f(&n); return n }
	for _, c := range []struct {
		name  string
		nodes []Node
		want  string
		// wantErr: every part must be in the error.
		wantErr []string
	}{
		{name: "the one ready node", nodes: []Node{roomy("a")}, want: "a"},
		{name: "draining and unhealthy nodes are skipped", nodes: []Node{
			with(roomy("a"), func(n *Node) { n.Ready, n.Status = false, "draining" }),
			with(roomy("b"), func(n *Node) { n.Ready, n.Status, n.Reason = false, "unhealthy", "no heartbeat" }),
			roomy("c")}, want: "c"},
		{name: "a node that cannot run sandboxes is skipped", nodes: []Node{with(roomy("a"), func(n *Node) { n.Runs = false }), roomy("b")}, want: "b"},
		{name: "pooled beats layers beats nothing", nodes: []Node{
			roomy("a"),
			with(roomy("b"), func(n *Node) { n.Layers = []string{"l1", "l2"} }),
			with(roomy("c"), func(n *Node) { n.Pooled = []string{"base"} })}, want: "c"},
		{name: "all layers beat some", nodes: []Node{
			with(roomy("a"), func(n *Node) { n.Layers = []string{"l1"} }),
			with(roomy("b"), func(n *Node) { n.Layers = []string{"l2", "l1"} })}, want: "b"},
		{name: "team spread: fewer of the team's sandboxes", nodes: []Node{
			with(roomy("a"), func(n *Node) { n.TeamSandboxes = map[string]int{"t1": 3} }),
			with(roomy("b"), func(n *Node) { n.TeamSandboxes = map[string]int{"t1": 1, "t2": 9} })}, want: "b"},
		{name: "more room wins among equals", nodes: []Node{
			with(roomy("a"), func(n *Node) { n.AllocatedCPU, n.AllocatedMemory = 20, 20*gib }),
			with(roomy("b"), func(n *Node) { n.AllocatedCPU, n.AllocatedMemory = 4, 4*gib })}, want: "b"},
		{name: "ties go to the first id", nodes: []Node{roomy("b"), roomy("a")}, want: "a"},
		{name: "an unmetered node needs no figures", nodes: []Node{{ID: "local", Ready: true, Runs: true, Unmetered: true, ObjectStorage: true}}, want: "local"},
		{name: "no CPU room", nodes: []Node{with(roomy("a"), func(n *Node) { n.AllocatedCPU = 31 })},
			wantErr: []string{"node a has 1 of 32 vCPUs free, the sandbox needs 2"}},
		{name: "no memory room", nodes: []Node{with(roomy("a"), func(n *Node) { n.AllocatedMemory = 31 * gib })},
			wantErr: []string{"node a has 1024 MiB of 32768 MiB memory free, the sandbox needs 2048 MiB"}},
		{name: "no slots", nodes: []Node{with(roomy("a"), func(n *Node) { n.Sandboxes, n.MaxSandboxes = 5, 5 })},
			wantErr: []string{"node a has all its 5 sandbox slots taken"}},
		{name: "every reason is named", nodes: []Node{
			with(roomy("a"), func(n *Node) { n.Ready, n.Status, n.Reason = false, "draining", "drained by an admin" }),
			with(roomy("b"), func(n *Node) { n.Runs = false })},
			wantErr: []string{"no node is ready", "node a is draining (drained by an admin)", "node b does not run sandboxes"}},
		{name: "an unreachable node is skipped", nodes: []Node{
			with(roomy("a"), func(n *Node) { n.Pooled, n.Unreachable = []string{"base"}, "connection refused" }), roomy("b")}, want: "b"},
		{name: "an unreachable node's reason is named", nodes: []Node{
			with(roomy("a"), func(n *Node) { n.Unreachable = "10.0.0.1:3444: connection refused" })},
			wantErr: []string{"node a cannot be reached: 10.0.0.1:3444: connection refused"}},
		{name: "no nodes", wantErr: []string{"no node is ready: none is registered"}},
		{name: "a node lacking the layers without object storage is skipped", nodes: []Node{
			with(roomy("a"), func(n *Node) { n.ObjectStorage, n.Layers = false, []string{"l1"} }),
			with(roomy("b"), func(n *Node) { n.AllocatedCPU, n.AllocatedMemory = 20, 20*gib })}, want: "b"},
		{name: "a node holding every layer needs no object storage", nodes: []Node{
			with(roomy("a"), func(n *Node) { n.ObjectStorage, n.Layers = false, []string{"l2", "l1"} }),
			with(roomy("b"), func(n *Node) { n.AllocatedCPU, n.AllocatedMemory = 20, 20*gib })}, want: "a"},
		{name: "the embedded node resolves layers itself", nodes: []Node{
			{ID: "local", Ready: true, Runs: true, Embedded: true, Unmetered: true}}, want: "local"},
		{name: "no node can fetch the layers", nodes: []Node{
			with(roomy("a"), func(n *Node) { n.ObjectStorage = false })},
			wantErr: []string{"node a lacks this template's layers and has no object storage to fetch them from (start it with --s3-endpoint)"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			d, err := Choose(c.nodes, req)
			if c.wantErr != nil {
				if !errors.Is(err, errdefs.ErrUnavailable) {
					t.Fatalf("Choose = %+v, %v; want an unavailable error", d, err)
				}
				for _, part := range c.wantErr {
					if !strings.Contains(err.Error(), part) {
						t.Errorf("error %q does not say %q", err, part)
					}
				}
				return
			}
			if err != nil || d.NodeID != c.want {
				t.Errorf("Choose = %+v, %v; want node %s", d, err, c.want)
			}
		})
	}
}

// fakeNodes are n nodes as 100 heartbeats would describe them: varied
// use, some draining, templates pooled and present on some.
func fakeNodes(n int) []Node {
	out := make([]Node, n)
	for i := range out {
		nd := Node{ID: fmt.Sprintf("node-%03d", i), Ready: i%10 != 0, Status: "ready", Runs: true,
			CPUCount: 16 + i%3*16, AllocatedCPU: i % 50, MemoryTotalBytes: 64 * gib, AllocatedMemory: uint64(i%40) * gib,
			Sandboxes: i % 60, MaxSandboxes: 100, TeamSandboxes: map[string]int{"t1": i % 4, "t2": i % 7}, ObjectStorage: i%3 != 0}
		if !nd.Ready {
			nd.Status = "draining"
		}
		for j := range 20 {
			nd.Layers = append(nd.Layers, fmt.Sprintf("layer-%d", (i+j)%40))
		}
		if i%5 == 0 {
			nd.Pooled = []string{"base", "python"}
		}
		out[i] = nd
	}
	return out
}

// BenchmarkChoose100: one decision among 100 nodes' heartbeats.
func BenchmarkChoose100(b *testing.B) {
	nodes := fakeNodes(100)
	req := Request{Template: "base", Layers: []string{"layer-1", "layer-2", "layer-3"}, CPU: 2, MemoryBytes: 2 * gib, Team: "t1"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Choose(nodes, req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkChooseEmbedded: the decision of a single-host server.
func BenchmarkChooseEmbedded(b *testing.B) {
	nodes := []Node{{ID: "local", Ready: true, Runs: true, Unmetered: true}}
	req := Request{Template: "base", CPU: 2, MemoryBytes: 2 * gib, Team: "t1"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Choose(nodes, req); err != nil {
			b.Fatal(err)
		}
	}
}

// TestFitsAgreesWithUnfit: the quick verdict and the worded one never
// disagree.
func TestFitsAgreesWithUnfit(t *testing.T) {
	for _, req := range []Request{{Template: "base", CPU: 2, MemoryBytes: 2 * gib, Team: "t1"},
		{Template: "app", Layers: []string{"layer-1", "layer-2"}, CPU: 2, MemoryBytes: 2 * gib, Team: "t1"},
		{Template: "base", CPU: 2, MemoryBytes: 2 * gib, Team: "t1", MoveFrom: "node-3"}} {
		for _, n := range fakeNodes(200) {
			if fits(&n, req) != (unfit(&n, req) == "") {
				t.Errorf("node %+v: fits %v, unfit %q", n, fits(&n, req), unfit(&n, req))
			}
		}
	}
}

// A fork or a snapshot restored with its memory goes to the embedded
// node, however much room a joined node has; without it, it is refused
// with the reason.
func TestChooseEmbeddedOnly(t *testing.T) {
	local := Node{ID: "local", Ready: true, Runs: true, Embedded: true, Unmetered: true}
	req := Request{Template: "base", CPU: 2, MemoryBytes: 2 * gib, EmbeddedOnly: true}
	if d, err := Choose([]Node{roomy("a"), local}, req); err != nil || d.NodeID != "local" {
		t.Errorf("Choose = %+v, %v; want local", d, err)
	}
	local.Ready, local.Status = false, "draining"
	_, err := Choose([]Node{roomy("a"), local}, req)
	if !errors.Is(err, errdefs.ErrUnavailable) || !strings.Contains(err.Error(), "node a is not the embedded node") {
		t.Errorf("Choose with the embedded node drained: %v", err)
	}
	req.EmbeddedOnly = false
	if d, err := Choose([]Node{roomy("a"), local}, req); err != nil || d.NodeID != "a" {
		t.Errorf("Choose = %+v, %v; want a", d, err)
	}
}

// A template build goes only to a joined node with object storage (its
// layers must reach every node); without one it is refused saying why.
func TestChooseBuild(t *testing.T) {
	local := Node{ID: "local", Ready: true, Runs: true, Embedded: true, Unmetered: true}
	plain := roomy("a")
	plain.ObjectStorage = false
	stored := roomy("b")
	req := Request{CPU: 1, MemoryBytes: gib, Build: true}
	if d, err := Choose([]Node{plain, stored, local}, req); err != nil || d.NodeID != "b" {
		t.Errorf("Choose = %+v, %v; want b, the node with object storage", d, err)
	}
	_, err := Choose([]Node{plain, local}, req)
	if !errors.Is(err, errdefs.ErrUnavailable) || !strings.Contains(err.Error(), "no node is ready for this build: node a has no object storage to upload a build's layers to") ||
		!strings.Contains(err.Error(), "node local is the embedded node") {
		t.Errorf("Choose of a build with no node with object storage: %v", err)
	}
	for _, n := range append(fakeNodes(50), local, plain, stored) {
		if fits(&n, req) != (unfit(&n, req) == "") {
			t.Errorf("node %+v: fits %v, unfit %q", n, fits(&n, req), unfit(&n, req))
		}
	}
}

// A create placed again after its node was not reached goes to another
// node, even one the scheduler likes less; with none left it is refused
// saying why.
func TestChooseExcluded(t *testing.T) {
	pooled := roomy("a")
	pooled.Pooled = []string{"base"}
	req := Request{Template: "base", CPU: 2, MemoryBytes: 2 * gib, Exclude: []string{"a"}}
	if d, err := Choose([]Node{pooled, roomy("b")}, req); err != nil || d.NodeID != "b" {
		t.Errorf("Choose = %+v, %v; want b, a being excluded", d, err)
	}
	_, err := Choose([]Node{pooled}, req)
	if !errors.Is(err, errdefs.ErrUnavailable) || !strings.Contains(err.Error(), "node a was not reached by this create") {
		t.Errorf("Choose with the only node excluded: %v; want unavailable saying why", err)
	}
	for _, n := range fakeNodes(50) {
		r := Request{Template: "base", CPU: 2, MemoryBytes: 2 * gib, Exclude: []string{"node-001", "node-007"}}
		if fits(&n, r) != (unfit(&n, r) == "") {
			t.Errorf("node %s: fits %v, unfit %q", n.ID, fits(&n, r), unfit(&n, r))
		}
	}
}

// A paused sandbox moved away from its node goes to another joined node
// with object storage: never back to its node, nor to the embedded node
// or one without object storage, each refusal saying why.
func TestChooseMoveFrom(t *testing.T) {
	local := Node{ID: "local", Ready: true, Runs: true, Embedded: true, Unmetered: true}
	plain := roomy("plain")
	plain.ObjectStorage = false
	req := Request{Template: "base", CPU: 2, MemoryBytes: 2 * gib, MoveFrom: "a"}
	if d, err := Choose([]Node{roomy("a"), local, plain, roomy("b")}, req); err != nil || d.NodeID != "b" {
		t.Errorf("Choose = %+v, %v; want b", d, err)
	}
	_, err := Choose([]Node{roomy("a"), local, plain}, req)
	for _, want := range []string{"node a is the node the sandbox was paused on", "node local is the embedded node",
		"node plain has no object storage to fetch the paused sandbox from"} {
		if !errors.Is(err, errdefs.ErrUnavailable) || err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Choose with no other node = %v, want unavailable with %q", err, want)
		}
	}
}

// A sandbox from a snapshot kept in object storage goes to a joined
// node with object storage, its source's node included; never to the
// embedded node or one without, each refusal saying why.
func TestChooseFromObjects(t *testing.T) {
	local := Node{ID: "local", Ready: true, Runs: true, Embedded: true, Unmetered: true}
	plain := roomy("plain")
	plain.ObjectStorage = false
	req := Request{Template: "snap1", CPU: 2, MemoryBytes: 2 * gib, FromObjects: true}
	if d, err := Choose([]Node{local, plain, roomy("a")}, req); err != nil || d.NodeID != "a" {
		t.Errorf("Choose = %+v, %v; want a", d, err)
	}
	_, err := Choose([]Node{local, plain}, req)
	for _, want := range []string{"node local is the embedded node, which does not restore snapshots taken on joined nodes",
		"node plain has no object storage to fetch the snapshot from"} {
		if !errors.Is(err, errdefs.ErrUnavailable) || !strings.Contains(err.Error(), want) {
			t.Errorf("Choose with no joined node with object storage = %v, want unavailable with %q", err, want)
		}
	}
}
