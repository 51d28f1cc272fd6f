package oci

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/soulbox/soulbox/internal/runtime"
)

// runcWithoutCRIUOption wraps runc as runc 1.4 and later behave: the
// --criu option is refused, and CRIU is whatever "criu" the PATH finds.
// The wrapper logs the verb of each call and that CRIU.
func runcWithoutCRIUOption(t *testing.T) (wrapper, log string) {
	t.Helper()
	log = filepath.Join(t.TempDir(), "calls")
	wrapper = wrappedRuntime(t, "runc", "1.4", func(real string) string {
		return `for a; do
	case "$a" in --criu|--criu=*) echo 'flag provided but not defined: -criu' >&2; exit 2;; esac
done
echo "$3 $(command -v criu)" >> ` + log + `
exec ` + real + ` "$@"
`
	})
	return wrapper, log
}

// A checkpoint, its restore and a clone's checkpoint work with a runc
// that has no --criu option, and runc runs the CRIU the driver chose,
// not the first one on the server's PATH.
func TestCheckpointWithRuncWithoutCRIUOption(t *testing.T) {
	wrapper, log := runcWithoutCRIUOption(t)
	d := newTestDriver(t, map[string]string{"runc": wrapper})
	if d.runtime != "runc" {
		t.Skipf("the driver runs %s here", d.runtime)
	}
	ctx := context.Background()
	id := "criupath1"
	startCheckpointable(t, d, id)
	criu, _ := criuBinary()
	dir := filepath.Join(t.TempDir(), "c")
	if err := d.Checkpoint(ctx, id, dir); err != nil {
		t.Fatalf("checkpoint: %v", err)
	}
	if err := d.Restore(ctx, id, dir); err != nil {
		t.Fatalf("restore: %v", err)
	}
	if info, err := d.Info(ctx, id); err != nil || info.Status != runtime.StatusRunning {
		t.Fatalf("after restore: %+v, %v", info, err)
	}
	if got := counterGet(t, d, id, 0); got != "2" {
		t.Errorf("GET after restore = %q, want 2 (the memory kept)", got)
	}
	if err := d.CheckpointClone(ctx, id, filepath.Join(t.TempDir(), "clone")); err != nil {
		t.Fatalf("clone checkpoint: %v", err)
	}
	calls, _ := os.ReadFile(log)
	seen := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(calls)), "\n") {
		verb, found, _ := strings.Cut(line, " ")
		if verb != "checkpoint" && verb != "restore" {
			continue
		}
		seen[verb] = true
		if found != criu {
			t.Errorf("runc %s found CRIU %q on its PATH, want the driver's %q", verb, found, criu)
		}
	}
	if !seen["checkpoint"] || !seen["restore"] {
		t.Errorf("runc calls logged: %q; want a checkpoint and a restore", calls)
	}
}
