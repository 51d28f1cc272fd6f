package oci

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"time"
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
func (d *Driver) leftCommands() []string {
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	var out []string
	for _, p := range procs {
		b, err := os.ReadFile(p)
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
			out = append(out, filepath.Base(filepath.Dir(p)))
		}
	}
	return out
}
