package noderoute

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/runtime"
)

// keepingRemote is a joined node's driver that keeps its checkpoints
// and clones and boots sandboxes again; it records what reached it.
type keepingRemote struct {
	remoteOnly
	calls *[]string
}

func (k keepingRemote) KeepCheckpoint(_ context.Context, id string) (int64, error) {
	*k.calls = append(*k.calls, "keep "+id)
	return 42, nil
}
func (k keepingRemote) RestoreKept(_ context.Context, id string) error {
	*k.calls = append(*k.calls, "restore "+id)
	return nil
}
func (k keepingRemote) KeptCheckpoint(_ context.Context, id string) (int64, bool, error) {
	return 42, true, nil
}
func (k keepingRemote) DropCheckpoint(_ context.Context, id string) error { return nil }
func (k keepingRemote) Recreate(_ context.Context, id string) error {
	*k.calls = append(*k.calls, "recreate "+id)
	return nil
}
func (k keepingRemote) Release(_ context.Context, id string) error { return nil }
func (k keepingRemote) KeepClone(_ context.Context, id string) (string, error) {
	*k.calls = append(*k.calls, "clone "+id)
	return "clone.0123456789abcdef", nil
}
func (k keepingRemote) RestoreKeptClone(_ context.Context, spec runtime.Spec, name string) error {
	*k.calls = append(*k.calls, "restore clone "+spec.ID+" "+name)
	return nil
}
func (k keepingRemote) DropClone(_ context.Context, id, name string) error { return nil }

// recreatingLocal is an embedded driver that boots sandboxes again.
type recreatingLocal struct {
	fakeDriver
	calls *[]string
}

func (l *recreatingLocal) Recreate(_ context.Context, id string) error {
	*l.calls = append(*l.calls, "local recreate "+id)
	return nil
}

// TestRouterKeepers: the abilities a joined node serves for pausing and
// forking reach the sandbox's node; the embedded node keeps to its own
// (Checkpointer with the control plane's directories), and a node
// without them is refused naming it, with nothing called.
func TestRouterKeepers(t *testing.T) {
	ctx := context.Background()
	var calls []string
	recorded := map[string]string{"on-a": "node-a", "on-b": "node-b", "fork-on-a": "node-a", "here": ""}
	nodeOf := func(_ context.Context, id string) (string, error) {
		n, ok := recorded[id]
		if !ok {
			return "", fmt.Errorf("sandbox %q: %w", id, errdefs.ErrNotFound)
		}
		return n, nil
	}
	remoteOf := func(_ context.Context, node string) (Remote, error) {
		switch node {
		case "node-a":
			return keepingRemote{calls: &calls}, nil
		case "node-b":
			return remoteOnly{}, nil
		}
		return nil, fmt.Errorf("node %s: %w", node, errdefs.ErrNotFound)
	}
	r := New(&recreatingLocal{calls: &calls}, nodeOf, remoteOf)

	if size, err := r.KeepCheckpoint(ctx, "on-a"); err != nil || size != 42 {
		t.Errorf("KeepCheckpoint on node-a = %d, %v", size, err)
	}
	if err := r.RestoreKept(ctx, "on-a"); err != nil {
		t.Errorf("RestoreKept on node-a: %v", err)
	}
	if err := r.Recreate(ctx, "on-a"); err != nil {
		t.Errorf("Recreate on node-a: %v", err)
	}
	if err := r.Recreate(ctx, "here"); err != nil {
		t.Errorf("Recreate on the embedded node: %v", err)
	}
	name, err := r.KeepClone(ctx, "on-a")
	if err != nil {
		t.Fatalf("KeepClone on node-a: %v", err)
	}
	if err := r.RestoreKeptClone(ctx, runtime.Spec{ID: "fork-on-a"}, name); err != nil {
		t.Errorf("RestoreKeptClone of a fork recorded on node-a: %v", err)
	}
	want := []string{"keep on-a", "restore on-a", "recreate on-a", "local recreate here", "clone on-a", "restore clone fork-on-a clone.0123456789abcdef"}
	if strings.Join(calls, "|") != strings.Join(want, "|") {
		t.Errorf("calls reached %q, want %q", calls, want)
	}

	calls = nil
	if _, err := r.KeepCheckpoint(ctx, "here"); !errdefs.IsFailedPrecondition(err) {
		t.Errorf("KeepCheckpoint on the embedded node: %v, want failed precondition", err)
	}
	if _, err := r.KeepClone(ctx, "here"); !errdefs.IsFailedPrecondition(err) {
		t.Errorf("KeepClone on the embedded node: %v, want failed precondition", err)
	}
	for what, err := range map[string]error{
		"KeepCheckpoint": func() error { _, err := r.KeepCheckpoint(ctx, "on-b"); return err }(),
		"Recreate":       r.Recreate(ctx, "on-b"),
		"KeepClone":      func() error { _, err := r.KeepClone(ctx, "on-b"); return err }(),
	} {
		if !errdefs.IsFailedPrecondition(err) || !strings.Contains(err.Error(), "node-b") {
			t.Errorf("%s on a node without the ability: %v, want failed precondition naming node-b", what, err)
		}
	}
	if _, err := r.KeepCheckpoint(ctx, "nowhere"); !errdefs.IsFailedPrecondition(err) {
		t.Errorf("KeepCheckpoint of an unrecorded sandbox (the embedded node's): %v", err)
	}
	if len(calls) != 0 {
		t.Errorf("refused calls reached a driver: %q", calls)
	}
}
