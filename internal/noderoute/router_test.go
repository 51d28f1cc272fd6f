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
