package oci

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// settleDeadline bounds how long a starting driver waits for runtime
// commands a previous process left running.
const settleDeadline = 2 * time.Minute

// settle waits until no checkpoint or restore started by a previous
// process of this driver (same root) is still running. A server killed
// during one leaves the runtime, and CRIU under it, to finish on their
// own; acting on that sandbox meanwhile (freezing it, removing a
// checkpoint being written) would race them. After the deadline it goes
// on and says which it gave up on.
func (d *Driver) settle() {
	deadline := time.Now().Add(settleDeadline)
	for {
		left := d.leftCommands()
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			d.log.Warn("runtime commands of a previous process still run; going on", "pids", left)
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// leftCommands lists the pids of runtime checkpoint and restore commands
// on this driver's root, other than our own children (a new driver has
// none).
//
// Only the runtime binaries themselves, in the driver's own pid
// namespace, are looked at: a sandbox's process can give itself any
// command line (this driver's root and "checkpoint" included), but it
// runs in the sandbox's pid namespace and cannot execute the host's
// runtime, so it cannot hold a starting server back.
func (d *Driver) leftCommands() []string {
	ownNS, err := os.Readlink("/proc/self/ns/pid")
	if err != nil {
		return nil
	}
	bins := d.runtimeInodes()
	if len(bins) == 0 {
		return nil
	}
	procs, _ := filepath.Glob("/proc/[0-9]*")
	var out []string
	for _, p := range procs {
		if ns, err := os.Readlink(filepath.Join(p, "ns", "pid")); err != nil || ns != ownNS {
			continue
		}
		var st unix.Stat_t
		if err := unix.Stat(filepath.Join(p, "exe"), &st); err != nil || !bins[fileID{st.Dev, st.Ino}] {
			continue
		}
		b, err := os.ReadFile(filepath.Join(p, "cmdline"))
		if err != nil || len(b) == 0 {
			continue
		}
		args := strings.Split(string(bytes.TrimRight(b, "\x00")), "\x00")
		ours, act := false, false
		for i, a := range args {
			if a == "--root" && i+1 < len(args) && strings.HasPrefix(args[i+1], d.root+string(filepath.Separator)) {
				ours = true
			}
			if a == "checkpoint" || a == "restore" {
				act = true
			}
		}
		if ours && act {
			out = append(out, filepath.Base(p))
		}
	}
	return out
}

// fileID names a file by device and inode.
type fileID struct {
	dev, ino uint64
}

// runtimeInodes returns the files of the runtime binaries this driver
// may run: those configured and those on PATH.
func (d *Driver) runtimeInodes() map[fileID]bool {
	var paths []string
	for _, rt := range knownRuntimes {
		if p, ok := d.runtimeBinaries[rt]; ok {
			paths = append(paths, p)
		}
		if p, err := exec.LookPath(rt); err == nil {
			paths = append(paths, p)
		}
	}
	ids := map[fileID]bool{}
	for _, p := range paths {
		var st unix.Stat_t
		if err := unix.Stat(p, &st); err == nil {
			ids[fileID{st.Dev, st.Ino}] = true
		}
	}
	return ids
}
