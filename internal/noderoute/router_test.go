package noderoute

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/runtime"
)

// fakeDriver answers Info and Destroy with its name, so a test sees
// which node a call reached; the rest of the interface is left nil (a
// call to it would panic, failing the test).
type fakeDriver struct {
	Embedded
	name string
}

func (f *fakeDriver) Info(_ context.Context, id string) (runtime.Info, error) {
	return runtime.Info{ID: id, Runtime: f.name}, nil
}
func (f *fakeDriver) Destroy(context.Context, string) error { return nil }
func (f *fakeDriver) Checkpoint(context.Context, string, string) error {
	return nil
}

// remoteOnly is a joined node's driver without the optional abilities.
type remoteOnly struct{ Remote }

func (r remoteOnly) Name() string { return "oci/remote" }

func (r remoteOnly) Info(ctx context.Context, id string) (runtime.Info, error) {
	return runtime.Info{ID: id, Runtime: "remote"}, nil
}

func TestRouter(t *testing.T) {
	ctx := context.Background()
	recorded := map[string]string{"on-a": "node-a", "here": ""}
	var lookups atomic.Int32
	nodeOf := func(_ context.Context, id string) (string, error) {
		lookups.Add(1)
		if id == "broken" {
			return "", fmt.Errorf("store down: %w", errdefs.ErrUnavailable)
		}
		n, ok := recorded[id]
		if !ok {
			return "", fmt.Errorf("sandbox %q: %w", id, errdefs.ErrNotFound)
		}
		return n, nil
	}
	remoteOf := func(_ context.Context, node string) (Remote, error) {
		if node != "node-a" {
			return nil, fmt.Errorf("node %s: %w", node, errdefs.ErrNotFound)
		}
		return remoteOnly{}, nil
	}
	r := New(&fakeDriver{name: "local"}, nodeOf, remoteOf)

	for id, want := range map[string]string{"on-a": "remote", "here": "local", "pooled-not-recorded": "local"} {
		info, err := r.Info(ctx, id)
		if err != nil || info.Runtime != want {
			t.Errorf("Info(%s) reached %q, %v; want %s", id, info.Runtime, err, want)
		}
	}
	// A recorded sandbox's node is read once; an unrecorded one each time.
	before := lookups.Load()
	_, _ = r.Info(ctx, "on-a")
	_, _ = r.Info(ctx, "here")
	if got := lookups.Load() - before; got != 0 {
		t.Errorf("%d store reads for sandboxes whose node is known", got)
	}
	_, _ = r.Info(ctx, "pooled-not-recorded")
	if got := lookups.Load() - before; got != 1 {
		t.Errorf("%d store reads for an unrecorded sandbox, want 1", got)
	}
	// The store's failure is the call's, not a guess of the embedded node.
	if _, err := r.Info(ctx, "broken"); !errors.Is(err, errdefs.ErrUnavailable) {
		t.Errorf("Info with the store down: %v", err)
	}
	// What a joined node does not serve is refused, naming it.
	if err := r.Checkpoint(ctx, "on-a", "/x"); !errdefs.IsFailedPrecondition(err) || !strings.Contains(err.Error(), "node-a") {
		t.Errorf("Checkpoint on a joined node: %v", err)
	}
	if err := r.Update(ctx, "on-a", runtime.Limits{}); !errdefs.IsFailedPrecondition(err) {
		t.Errorf("Update on a joined node without the ability: %v", err)
	}
	if err := r.Checkpoint(ctx, "here", "/x"); err != nil {
		t.Errorf("Checkpoint on the embedded node: %v", err)
	}
	if got := r.NameOn(ctx, "node-a"); got != "oci/remote" {
		t.Errorf("NameOn(node-a) = %q", got)
	}
	if got := r.NameOn(ctx, "node-gone"); got != "remote/node-gone" {
		t.Errorf("NameOn(node-gone) = %q", got)
	}
	// A node the registry no longer knows.
	recorded["on-gone"] = "node-gone"
	if _, err := r.Info(ctx, "on-gone"); !errdefs.IsNotFound(err) || !strings.Contains(err.Error(), "node-gone") {
		t.Errorf("Info on an unknown node: %v", err)
	}
	// A destroyed sandbox is forgotten: the next call reads the store.
	if err := r.Destroy(ctx, "here"); err != nil {
		t.Fatal(err)
	}
	before = lookups.Load()
	_, _ = r.Info(ctx, "here")
	if lookups.Load()-before != 1 {
		t.Errorf("a destroyed sandbox's node was still remembered")
	}
}

// moveDriver is a joined node's driver that holds the sandboxes in has
// (others are not found) and answers Info with its name.
type moveDriver struct {
	Remote
	name string
	has  map[string]bool
}

func (m moveDriver) Info(_ context.Context, id string) (runtime.Info, error) {
	if !m.has[id] {
		return runtime.Info{}, fmt.Errorf("sandbox %q: %w", id, errdefs.ErrNotFound)
	}
	return runtime.Info{ID: id, Runtime: m.name}, nil
}

// A sandbox moved to another node by another control-plane replica: the
// router remembers the old node, finds the sandbox gone there (or the
// node not answering), reads the store again and goes to the new node;
// a sandbox that is simply gone stays not found, after one read.
func TestRouterFollowsMove(t *testing.T) {
	ctx := context.Background()
	recorded := map[string]string{"moving": "node-a", "gone": "node-a"}
	var lookups atomic.Int32
	nodeOf := func(_ context.Context, id string) (string, error) {
		lookups.Add(1)
		return recorded[id], nil
	}
	nodes := map[string]moveDriver{
		"node-a": {name: "a", has: map[string]bool{"moving": true}},
		"node-b": {name: "b", has: map[string]bool{"moving": true}},
	}
	down := map[string]bool{}
	remoteOf := func(_ context.Context, node string) (Remote, error) {
		if down[node] {
			return nil, fmt.Errorf("node %s: %w", node, errdefs.ErrUnavailable)
		}
		return nodes[node], nil
	}
	r := New(&fakeDriver{name: "local"}, nodeOf, remoteOf)
	if info, err := r.Info(ctx, "moving"); err != nil || info.Runtime != "a" {
		t.Fatalf("before the move: %+v, %v", info, err)
	}
	// Moved by another replica; node A then forgets it.
	recorded["moving"] = "node-b"
	nodes["node-a"].has["moving"] = false
	if info, err := r.Info(ctx, "moving"); err != nil || info.Runtime != "b" {
		t.Errorf("after the move: %+v, %v; want node b", info, err)
	}
	// Moved back while node B is down: followed too.
	recorded["moving"] = "node-a"
	nodes["node-a"].has["moving"] = true
	down["node-b"] = true
	if info, err := r.Info(ctx, "moving"); err != nil || info.Runtime != "a" {
		t.Errorf("after a move off a node that is down: %+v, %v; want node a", info, err)
	}
	before := lookups.Load()
	if _, err := r.Info(ctx, "gone"); !errdefs.IsNotFound(err) {
		t.Errorf("a sandbox gone from its node: %v, want not found", err)
	}
	if got := lookups.Load() - before; got != 2 {
		t.Errorf("%d store reads for a sandbox gone from its node, want 2 (its node, then once more)", got)
	}
}
