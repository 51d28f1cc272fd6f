package oci

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/runtime"
)

// A sandbox restored from a checkpoint is checkpointed and restored again,
// twice, its processes' memory carried through each (the counter goes on);
// a restored sandbox also gives a clone with its memory. Its agent stays
// out of reach of the sandbox's root after every restore: the patch that
// lets CRIU check a restored sandbox's namespaces (scripts/criu) does not
// make the agent dumpable.
func TestCheckpointRestoredAgain(t *testing.T) {
	d := newTestDriver(t, nil)
	ctx := context.Background()
	id := "ckptagain1"
	startCheckpointable(t, d, id) // the counter answered 1
	want := 2
	for round := 1; round <= 2; round++ {
		dir := filepath.Join(t.TempDir(), fmt.Sprint("c", round))
		if err := d.Checkpoint(ctx, id, dir); err != nil {
			if round > 1 && errdefs.IsFailedPrecondition(err) {
				t.Skipf("this host's CRIU cannot checkpoint a restored sandbox (scripts/setup.sh builds one that can): %v", err)
			}
			t.Fatalf("checkpoint %d: %v", round, err)
		}
		if err := d.Restore(ctx, id, dir); err != nil {
			t.Fatalf("restore %d: %v", round, err)
		}
		if got := counterGet(t, d, id, 0); got != fmt.Sprint(want) {
			t.Errorf("counter after restore %d = %q, want %d", round, got, want)
		}
		want++
		// The sandbox's root reads neither the agent's environment nor its
		// memory.
		if o := sh(t, d, id, "cat /proc/1/environ >/dev/null 2>&1 && echo read; head -c1 /proc/1/mem >/dev/null 2>&1 && echo mem; echo done"); o != "done\n" {
			t.Errorf("after restore %d the sandbox's root reached the agent: %q", round, o)
		}
	}
	dir := filepath.Join(t.TempDir(), "clone")
	if err := d.CheckpointClone(ctx, id, dir); err != nil {
		t.Fatalf("clone checkpoint of a restored sandbox: %v", err)
	}
	clone := "ckptagain2"
	if err := d.RestoreClone(ctx, runtime.Spec{ID: clone, Template: "base"}, dir); err != nil {
		t.Fatalf("clone: %v", err)
	}
	t.Cleanup(func() {
		if err := d.Destroy(context.Background(), clone); err != nil {
			t.Errorf("destroy %s: %v", clone, err)
		}
	})
	if got := counterGet(t, d, clone, 0); got != fmt.Sprint(want) {
		t.Errorf("clone's counter = %q, want %d", got, want)
	}
	if got := counterGet(t, d, id, 0); got != fmt.Sprint(want) {
		t.Errorf("source's counter after the clone = %q, want %d", got, want)
	}
}
