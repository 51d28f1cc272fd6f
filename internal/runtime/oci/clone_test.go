package oci

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/runtime"
)

// A clone checkpoint leaves its source running; each clone made from it
// has the source's processes with their memory (the counter goes on from
// where the source was), its files, its own host uids, network and host
// name, and lives on its own. Nothing is left after the clones go.
func TestCloneCarriesMemory(t *testing.T) {
	d := newTestDriver(t, nil)
	ctx := context.Background()
	src := "clonesrc1"
	startCheckpointable(t, d, src)
	sh(t, d, src, "echo kept > /home/user/kept.txt && chown 1000:1000 /home/user/kept.txt")
	dir := filepath.Join(t.TempDir(), "c")
	if err := d.CheckpointClone(ctx, src, dir); err != nil {
		t.Fatal(err)
	}
	if info, err := d.Info(ctx, src); err != nil || info.Status != runtime.StatusRunning {
		t.Fatalf("source after its clone checkpoint: %+v, %v", info, err)
	}
	if got := counterGet(t, d, src, 0); got != "2" {
		t.Errorf("source counter after the checkpoint = %q, want 2", got)
	}
	srcState, _ := d.readState(src)
	for i, id := range []string{"clonedst1", "clonedst2"} {
		if err := d.RestoreClone(ctx, runtime.Spec{ID: id, Template: "base"}, dir); err != nil {
			t.Fatalf("clone %s: %v", id, err)
		}
		t.Cleanup(func() {
			if err := d.Destroy(context.Background(), id); err != nil {
				t.Errorf("destroy %s: %v", id, err)
			}
			if left := d.Leftovers(context.Background(), id); len(left) > 0 {
				t.Errorf("left after destroying %s: %v", id, left)
			}
		})
		// Memory: the counter was at 1 when saved.
		for n := 2; n <= 2+i; n++ {
			if got := counterGet(t, d, id, 0); got != fmt.Sprint(n) {
				t.Errorf("clone %s counter = %q, want %d", id, got, n)
			}
		}
		if o := sh(t, d, id, "cat /home/user/kept.txt; stat -c %U /home/user/kept.txt; hostname"); o != "kept\nuser\n"+id+"\n" {
			t.Errorf("clone %s: %q", id, o)
		}
		// Its identity files are its own, not the source's: a program
		// that resolves its own host name finds it.
		if o := sh(t, d, id, "cat /etc/hostname; getent hosts $(hostname) | awk '{print $2}'"); o != id+"\n"+id+"\n" {
			t.Errorf("clone %s: /etc/hostname and its entry in /etc/hosts: %q, want its id", id, o)
		}
		st, _ := d.readState(id)
		if st.HostUID == srcState.HostUID {
			t.Fatalf("clone %s shares its source's host uids", id)
		}
		for _, pid := range d.cgroupProcs(id) {
			b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/uid_map", pid))
			if f := strings.Fields(string(b)); len(f) < 2 || f[1] != fmt.Sprint(st.HostUID) {
				t.Errorf("clone %s: process %d maps ids to %q, want from %d", id, pid, b, st.HostUID)
			}
		}
	}
	if got := counterGet(t, d, src, 0); got != "3" {
		t.Errorf("source counter after the clones = %q, want 3 (its own)", got)
	}

	// Bad input: an ordinary checkpoint is not one for clones, and a
	// missing one is not found; neither leaves a sandbox behind.
	if err := d.RestoreClone(ctx, runtime.Spec{ID: "clonebad1", Template: "base"}, filepath.Join(t.TempDir(), "none")); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("clone from nothing: %v", err)
	}
	if left := d.Leftovers(ctx, "clonebad1"); len(left) > 0 {
		t.Errorf("left after a refused clone: %v", left)
	}
}
