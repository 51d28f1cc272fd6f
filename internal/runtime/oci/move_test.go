package oci

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/runtime"
	"github.com/soulbox/soulbox/internal/runtime/oci/ocitest"
	"golang.org/x/sys/unix"
)

// A sandbox paused on one driver moves to another (its own root and
// cgroup parent, as another node's): packed with its checkpoint, it is
// restored there under the same id with its counter going on and its
// files kept, under that driver's host uids; packed with its files only,
// it is created there on them and boots a fresh agent. Each source is
// then destroyed, and nothing of either is left on either driver.
func TestMovePausedBetweenDrivers(t *testing.T) {
	a, b := newTestDriver(t, nil), newTestDriver(t, nil)
	if a.cgroups.parent == b.cgroups.parent {
		t.Fatalf("both drivers use cgroup parent %s", a.cgroups.parent)
	}
	ctx := context.Background()
	for _, memory := range []bool{true, false} {
		id := "movemem1"
		if !memory {
			id = "movefiles1"
		}
		startCheckpointable(t, a, id)
		sh(t, a, id, "echo kept > /home/user/kept.txt && chown 1000:1000 /home/user/kept.txt")
		checkpoint := ""
		if memory {
			checkpoint = filepath.Join(t.TempDir(), "cp")
			if err := a.Checkpoint(ctx, id, checkpoint); err != nil {
				t.Fatal(err)
			}
		} else if err := a.Stop(ctx, id); err != nil {
			t.Fatal(err)
		} else if err := a.Release(ctx, id); err != nil {
			t.Fatal(err)
		}
		pack := filepath.Join(t.TempDir(), "pack")
		if err := a.PackPaused(ctx, id, checkpoint, pack); err != nil {
			t.Fatal(err)
		}
		if err := a.PackPaused(ctx, id, checkpoint, pack); !errors.Is(err, errdefs.ErrAlreadyExists) {
			t.Errorf("a second pack into the same directory: %v, want already exists", err)
		}
		// Another sandbox's pack is refused, leaving nothing.
		if _, err := b.RestoreMoved(ctx, runtime.Spec{ID: "moveother1", Template: "base"}, pack); !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("restore of another sandbox's pack: %v, want invalid argument", err)
		}
		if left := b.Leftovers(ctx, "moveother1"); len(left) > 0 {
			t.Errorf("left after a refused move: %v", left)
		}
		// Files of the pack owned outside its sandbox's ids (host root
		// set-uid, an id of another sandbox's range) come out owned by
		// host root, set-id bits dropped: no file keeps a host id this
		// node may give another sandbox.
		var src unix.Stat_t
		if err := unix.Stat(filepath.Join(pack, cloneUpper), &src); err != nil {
			t.Fatal(err)
		}
		for name, owner := range map[string]int{"evil-root": 0, "evil-other": int(src.Uid) + 3*idRange + 5} {
			p := filepath.Join(pack, cloneUpper, name)
			if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Chown(p, owner, owner); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(p, 0o755|os.ModeSetuid|os.ModeSetgid); err != nil {
				t.Fatal(err)
			}
		}
		got, err := b.RestoreMoved(ctx, runtime.Spec{ID: id, Template: "base"}, pack)
		if err != nil {
			t.Fatalf("move with memory %v: %v", memory, err)
		}
		t.Cleanup(func() {
			if err := b.Destroy(context.Background(), id); err != nil && !errdefs.IsNotFound(err) {
				t.Errorf("destroy %s on b: %v", id, err)
			}
			if left := b.Leftovers(context.Background(), id); len(left) > 0 {
				t.Errorf("left on b after destroying %s: %v", id, left)
			}
		})
		if got != memory {
			t.Errorf("move reports memory %v, want %v", got, memory)
		}
		for _, name := range []string{"evil-root", "evil-other"} {
			var st unix.Stat_t
			if err := unix.Lstat(filepath.Join(b.diskDir(id), "upper", name), &st); err != nil {
				t.Fatal(err)
			}
			if st.Uid != 0 || st.Gid != 0 || st.Mode&(unix.S_ISUID|unix.S_ISGID) != 0 {
				t.Errorf("moved file %s owned by host %d:%d mode %o, want 0:0 without set-id bits", name, st.Uid, st.Gid, st.Mode&0o7777)
			}
		}
		if memory {
			if c := counterGet(t, b, id, 0); c != "2" {
				t.Errorf("counter after the move = %q, want 2 (it was at 1)", c)
			}
		} else {
			if info, err := b.Info(ctx, id); err != nil || info.Status != runtime.StatusCreated {
				t.Fatalf("moved with its files: %+v, %v; want created", info, err)
			}
			if err := b.Start(ctx, id); err != nil {
				t.Fatal(err)
			}
		}
		if o := sh(t, b, id, "cat /home/user/kept.txt; stat -c %U /home/user/kept.txt"); o != "kept\nuser\n" {
			t.Errorf("moved sandbox's file: %q", o)
		}
		if err := a.Destroy(ctx, id); err != nil {
			t.Fatal(err)
		}
		if left := a.Leftovers(ctx, id); len(left) > 0 {
			t.Errorf("left on a after destroying %s: %v", id, left)
		}
		if _, err := os.Stat(pack + ".partial"); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("a partial pack was left: %v", err)
		}
	}
}

// askedLayers is a node's templates that records the layers each create
// names and holds none of those it is asked for by digest, as a node
// that lacks them: a layer named with no archive is refused, one named
// with an archive is refused too (nothing is fetched here), after it is
// recorded.
type askedLayers struct {
	Templates
	asked [][]runtime.TemplateLayer
}

func (a *askedLayers) ResolveLayers(_ context.Context, ls []runtime.TemplateLayer) ([]string, error) {
	a.asked = append(a.asked, ls)
	return nil, fmt.Errorf("layers not held here: %w", errdefs.ErrFailedPrecondition)
}

// TestMovedPackLayersFromControlPlane: a pack made on another node names
// its sandbox's layers and, in its metadata, the archive each is in
// object storage. The restoring node takes the layers but never the
// pack's archives: a layer the restore's spec (the control plane) does
// not name is asked for with no archive (so only a node holding it
// already can use it), one it names is fetched as the archive the
// control plane names. So a node cannot have another install an archive
// of its choosing as a layer other sandboxes stack on.
func TestMovedPackLayersFromControlPlane(t *testing.T) {
	a := newTestDriver(t, nil)
	ask := &askedLayers{Templates: ocitest.Templates(t)}
	b, err := New(Config{Root: ocitest.Root(t), AgentPath: ocitest.AgentBinary(t), Templates: ask})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const id = "movelayers1"
	startCheckpointable(t, a, id)
	t.Cleanup(func() { _ = a.Destroy(context.Background(), id) })
	if err := a.Stop(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := a.Release(ctx, id); err != nil {
		t.Fatal(err)
	}
	pack := filepath.Join(t.TempDir(), "pack")
	if err := a.PackPaused(ctx, id, "", pack); err != nil {
		t.Fatal(err)
	}
	// The pack says the sandbox stacks on a layer, in an archive the
	// old node chose.
	const digest = "key-1111111111111111111111111111111111111111111111111111111111111111"
	planted := "sha256:" + strings.Repeat("b", 64)
	raw, err := os.ReadFile(filepath.Join(pack, "checkpoint.json"))
	if err != nil {
		t.Fatal(err)
	}
	var meta map[string]any
	if err := json.Unmarshal(raw, &meta); err != nil {
		t.Fatal(err)
	}
	meta["templateLayers"] = []runtime.TemplateLayer{{Digest: digest, Blob: planted, Size: 5}, {Base: "base/1/rootfs"}}
	if raw, err = json.Marshal(meta); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(pack, "checkpoint.json"), raw, 0o600); err != nil {
		t.Fatal(err)
	}
	named := "sha256:" + strings.Repeat("c", 64)
	for _, spec := range []runtime.Spec{
		{ID: id, Template: "custom"},
		{ID: id, Template: "custom", Layers: []runtime.TemplateLayer{{Digest: digest, Blob: named, Size: 7}}},
	} {
		if _, err := b.RestoreMoved(ctx, spec, pack); !errdefs.IsFailedPrecondition(err) {
			t.Errorf("restore on a node lacking the layer: %v, want failed precondition", err)
		}
		if left := b.Leftovers(ctx, id); len(left) > 0 {
			t.Errorf("left after a refused move: %v", left)
		}
	}
	want := [][]runtime.TemplateLayer{
		{{Digest: digest}, {Base: "base/1/rootfs"}},
		{{Digest: digest, Blob: named, Size: 7}, {Base: "base/1/rootfs"}},
	}
	if !reflect.DeepEqual(ask.asked, want) {
		t.Errorf("layers asked for: %+v, want %+v (never the pack's archive %s)", ask.asked, want, planted)
	}
}
