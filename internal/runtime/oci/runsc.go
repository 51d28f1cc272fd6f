package oci

// This file holds what the driver does differently for runsc (gVisor).
//
// Under runsc the sandbox's processes do not run on the host kernel: they
// run on gVisor's Sentry, a user-space kernel that is itself a host process
// (runsc-sandbox, the pid `runsc state` reports) confined by its own host
// seccomp filter, beside a gofer process (runsc-gofer) that opens the
// rootfs's files for it. The host sees only those two and the Sentry's
// systrap stub processes, all in the sandbox's cgroups and, because runsc
// honours linux.uidMappings for them, all running as the sandbox's own
// unprivileged host uid range. So the isolation a runc sandbox gets from
// namespaces, capabilities and the seccomp profile applied by the host
// kernel, a runsc sandbox gets first from the Sentry's smaller host syscall
// surface; the config.json settings below still apply, but inside gVisor.

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/soulbox/soulbox/internal/runtime"
)

// runscFlags are the global flags of every runsc command the driver runs.
// runsc takes its configuration from flags, not from config.json, and the
// commands after create (start sets up the network; exec and kill talk to
// the running Sentry) rebuild it from their own flags, so each one must get
// the same set.
var runscFlags = []string{
	// systrap works without KVM and without ptrace's syscall gaps.
	"--platform=systrap",
	// Loopback only, inside gVisor's own network stack, as a runc sandbox
	// has in its empty network namespace. runsc's default (sandbox) copies
	// the interfaces of the sandbox's network namespace into that stack,
	// and runsc 20240729 refuses to do so on Linux 6, where its test for
	// "this is the host's namespace" (/proc/sys/net/core/rmem_default
	// exists) holds in every namespace. Nothing outside the Sentry can
	// reach this loopback: DialContext does not work for runsc sandboxes.
	"--network=none",
	// No gVisor overlay over the rootfs: runsc's default (root:self) keeps
	// the sandbox's writes in a layer of its own (a memory file stored
	// inside the rootfs), which the host cannot read. The driver composes
	// the rootfs as an overlay already, and reads the sandbox's files from
	// the host side (/etc/passwd for Exec's user lookup), so writes must
	// land in its ext4 upper layer, which is also the disk quota.
	"--overlay2=none",
	// Apply config.json's seccomp profile inside gVisor, which otherwise
	// ignores it: it narrows what a sandbox can ask of the Sentry, a
	// kernel of its own with bugs of its own. The host kernel is guarded
	// by the Sentry's own filter either way. runsc up to at least
	// 20240729 applies the profile to the agent and what it starts, not to
	// processes started with `runsc exec` (gVisor PR 12692 fixes that).
	"--oci-seccomp",
	// Report the CPU quota (rounded up, at least 2) as the CPU count, so
	// that programs sizing their thread pools by nproc see their limit
	// rather than the host's CPUs.
	"--cpu-num-from-quota",
}

// adaptSpecForRunsc changes a sandbox's runtime spec where gVisor needs it
// to differ from runc's. Everything else is left as for runc and honoured
// by runsc or by the Sentry: the user namespace and its mappings (runsc runs
// the Sentry and the gofer as the sandbox's host uids, which also own the
// idmapped template layers the gofer serves), the namespaces (the Sentry's
// own), capabilities, no_new_privs and the seccomp profile (enforced by the
// Sentry for the processes it runs; see --oci-seccomp), and the memory and
// CPU limits (applied to the host cgroups that hold the Sentry, the gofer
// and the stubs, so they cover the sandbox and its kernel). Some settings
// have nothing left to guard and are kept only because they are harmless:
// runsc does not apply device cgroup rules on cgroup v1 (no sandbox process
// can open a host device node: /dev inside is the Sentry's, all emulated),
// and the Sentry's /proc and /sys are synthetic (no /proc/kcore, /proc/keys
// or /proc/timer_list to mask).
func adaptSpecForRunsc(s *specs.Spec) {
	if s.Linux == nil || s.Linux.Resources == nil {
		return
	}
	// The host's pids cgroup counts the Sentry's own threads, the gofer's
	// and the systrap stubs (a stub process per address space in the
	// sandbox): about 30 tasks for an idle sandbox, more than
	// runtime.MinPids. And when a fork inside finds it full, the Sentry
	// cannot create the stub and panics ("trying to use inactive address
	// space"), taking the whole sandbox down where runc would fail the
	// fork with EAGAIN. So the host limit becomes a backstop with room for
	// the Sentry's needs, and the sandbox's own limit is set in gVisor's
	// pids cgroup at start (configureRunscCgroups), which fails forks with
	// EAGAIN as Linux does.
	if r := s.Linux.Resources; r.Pids != nil && r.Pids.Limit != nil {
		limit := runscHostPids(*r.Pids.Limit)
		r.Pids = &specs.LinuxPids{Limit: &limit}
	}
}

// runscHostPids is the host pids limit of a runsc sandbox allowed
// sandboxPids processes and threads: room for a stub and a Sentry thread
// per sandbox task (a task blocked on the host holds a Sentry thread) and
// for the Sentry's and the gofer's own threads.
func runscHostPids(sandboxPids int64) int64 { return 2*sandboxPids + 128 }

// configureRunscCgroups writes a started sandbox's limits into gVisor's
// own cgroups, which runsc creates for the container with no limits at
// all: the pids limit, the one gVisor enforces (see adaptSpecForRunsc),
// and the CPU quota and memory limit, which the host cgroups enforce but
// which programs inside read from /sys/fs/cgroup to size themselves.
//
// gVisor mounts those cgroup files writable by the sandbox's root, so the
// pids limit inside is a guard against runaway forks, not a boundary: a
// sandbox that lifts it can fork until the host backstop, where the Sentry
// dies and the sandbox with it, and nothing else. runsc write-control
// refuses pids.max, so a shell of the sandbox writes the files; it runs
// before Start returns, when the agent is the only other process.
func (d *Driver) configureRunscCgroups(ctx context.Context, st sandboxState) error {
	l := st.Limits
	script := fmt.Sprintf(`set -e
cd /sys/fs/cgroup
echo 100000 > cpu/cpu.cfs_period_us
echo %d > cpu/cpu.cfs_quota_us
echo %d > memory/memory.limit_in_bytes
echo %d > pids/pids.max
`, l.CPUCount*100000, int64(l.MemoryMB)<<20, l.Pids)
	var stderr bytes.Buffer
	res, err := d.Exec(ctx, st.ID, runtime.ExecRequest{Args: []string{"/bin/sh", "-c", script}, Stderr: &stderr})
	if err == nil && res.ExitCode != 0 {
		err = fmt.Errorf("exited %d: %s", res.ExitCode, strings.TrimSpace(stderr.String()))
	}
	if err != nil {
		return fmt.Errorf("sandbox %q: set limits in gVisor's cgroups: %w", st.ID, err)
	}
	return nil
}

// runscExecArgs are the extra arguments of `runsc exec`. runsc's --pid-file
// holds the pid of the runsc exec process itself, which only relays the
// process's stdio and exit status: killing it leaves the process running in
// the sandbox. The pid inside the sandbox, which `runsc kill --pid` takes, is
// written to --internal-pid-file instead.
func runscExecArgs(internalPidFile string) []string {
	return []string{"--internal-pid-file", internalPidFile}
}

// killRunscExec SIGKILLs the process of an Exec through the Sentry, by its
// pid inside the sandbox. A runsc exec takes a while to start the process,
// and a context cancelled before then would find no pid yet: it waits for
// one until the exec returns. Exec's own context is already cancelled, so
// the kill runs on a context of its own.
func (d *Driver) killRunscExec(id, internalPidFile string, done <-chan struct{}) {
	for {
		if pid, err := readPidFile(internalPidFile); err == nil {
			_, _ = d.runRuntime(context.Background(), "runsc", "kill", "--pid", strconv.Itoa(pid), id, "KILL")
			return
		}
		select {
		case <-done:
			return
		case <-time.After(5 * time.Millisecond):
		}
	}
}
