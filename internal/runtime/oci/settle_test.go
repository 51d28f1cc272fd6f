package oci

import (
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"testing"
)

// A process that merely claims, in its command line, to be a checkpoint
// on this driver's root (as any sandbox process could) does not hold a
// starting driver back; the runtime binary running one does.
func TestLeftCommandsOnlyTheRuntime(t *testing.T) {
	runc, err := exec.LookPath("runc")
	if err != nil {
		t.Skip(err)
	}
	root := t.TempDir()
	d := &Driver{root: root}
	rootArg := filepath.Join(root, "runc")

	forger := exec.Command("/bin/sh", "-c", "sleep 60", "sh", "--root", rootArg, "checkpoint", "sb1")
	if err := forger.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { forger.Process.Kill(); forger.Wait() })

	// The real runtime, stopped right after its exec (ptrace), so that
	// it is still there to be seen.
	real := exec.Command(runc, "--root", rootArg, "checkpoint", "sb1")
	real.SysProcAttr = &syscall.SysProcAttr{Ptrace: true}
	if err := real.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { real.Process.Kill(); real.Wait() })

	left := d.leftCommands()
	if slices.Contains(left, strconv.Itoa(forger.Process.Pid)) {
		t.Errorf("a shell whose command line names the driver's root and checkpoint holds the start back: %v", left)
	}
	if !slices.Contains(left, strconv.Itoa(real.Process.Pid)) {
		t.Errorf("the runtime's own checkpoint (pid %d) is not waited for: %v", real.Process.Pid, left)
	}
}
