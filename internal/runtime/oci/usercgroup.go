package oci

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/runtime"
)

// This file keeps the agent able to work whatever the sandbox's processes
// do. Every process but the agent runs in a child cgroup, "user", of the
// sandbox's cgroup, with pids and memory limits below the sandbox's own
// (and in the cpu hierarchy, to share CPU with the agent as one group):
// a fork bomb or a runaway allocation fills the child, and the agent,
// outside it, still has room to fork, to answer, and to be told to kill
// them (KillUserProcesses).
//
// The agent cannot create cgroups or write their files (the sandbox's
// /sys/fs/cgroup is read-only and belongs to the host's root), so the host
// creates the child before the runtime creates the sandbox and hands the
// agent open files of the child's and the sandbox's `tasks` (cgroup v1):
// to start a process, the agent moves the starting thread into the child,
// forks, and moves the thread back. The child inherits the cgroup of the
// thread that forked it. Holding those files lets the sandbox move its own
// processes between its cgroup and the child, and nothing else.
//
// cgroup v2 has no per-thread membership outside threaded cgroups and
// forbids processes beside controller-enabled children, so it needs a
// different arrangement (the agent in a leaf of its own); until then a v2
// host, like runsc (whose processes the host's cgroups do not see one by
// one), runs sandboxes without the child and without the headroom.

// userCgroupName is the child cgroup of every sandbox process but the agent.
const userCgroupName = "user"

// userCgroupEnv tells the agent which of its files are the cgroup files:
// "user=3,4;home=5,6", the child's tasks files and its own cgroup's.
const userCgroupEnv = "SOULBOX_CGROUP_FDS"

// userControllers are the v1 hierarchies the child is made in, in the
// order of the agent's files. In cpu the child has no limit: it makes all
// user processes one group that shares the sandbox's CPU with the agent,
// so a sandbox whose processes saturate its CPUs still has an agent that
// answers. Sandboxes made before cpu was added have the first two only.
var userControllers = []string{"pids", "memory", "cpu"}

// agentPids is what the agent keeps for itself of the sandbox's pids limit:
// its threads (a dozen), a kill's shell, the interpreter's start.
const agentPids = 64

// agentMemoryMB is what the agent keeps of the sandbox's memory limit.
const agentMemoryMB = 32

// userPids and userMemory are the child's limits for a sandbox's: the
// sandbox's minus the agent's share, and at least half of it.
func userPids(l runtime.Limits) int64 {
	return int64(max(l.Pids-agentPids, l.Pids/2))
}

func userMemory(l runtime.Limits) int64 {
	return int64(max(l.MemoryMB-agentMemoryMB, l.MemoryMB/2)) << 20
}

// hasUserCgroups reports whether sandboxes of runtime rt get the child.
func (d *Driver) hasUserCgroups(rt string) bool {
	if rt == "runsc" || d.cgroups.unified {
		return false
	}
	for _, c := range userControllers {
		if d.cgroups.mounts[c] == "" {
			return false
		}
	}
	return true
}

// prepareUserCgroup makes the sandbox's cgroup (the runtime fills in its
// limits and joins it) and its child with the child's limits, in the
// first n of userControllers (all when n is 0), and opens the files the
// agent is handed. It returns nothing for sandboxes without the child.
// The caller closes the files.
func (d *Driver) prepareUserCgroup(id, rt string, l runtime.Limits, n int) (files []*os.File, env string, err error) {
	if !d.hasUserCgroups(rt) {
		return nil, "", nil
	}
	controllers := userControllers
	if n > 0 && n < len(controllers) {
		controllers = controllers[:n]
	}
	var user, home []*os.File
	defer func() {
		if err != nil {
			closeFiles(user)
			closeFiles(home)
		}
	}()
	for _, c := range controllers {
		dir := d.cgroups.dir(c, id)
		child := filepath.Join(dir, userCgroupName)
		if err := os.MkdirAll(child, 0o755); err != nil {
			return nil, "", fmt.Errorf("create user cgroup: %w", err)
		}
		if err := d.writeUserLimit(c, id, l); err != nil {
			return nil, "", err
		}
		uf, err := os.OpenFile(filepath.Join(child, "tasks"), os.O_WRONLY, 0)
		if err != nil {
			return nil, "", fmt.Errorf("open user cgroup: %w", err)
		}
		user = append(user, uf)
		hf, err := os.OpenFile(filepath.Join(dir, "tasks"), os.O_WRONLY, 0)
		if err != nil {
			return nil, "", fmt.Errorf("open sandbox cgroup: %w", err)
		}
		home = append(home, hf)
	}
	// The runtime passes them on as fds 3, 4, ... in this order.
	fd := func(i int) string { return strconv.Itoa(3 + i) }
	var u, h []string
	for i := range user {
		u = append(u, fd(i))
		h = append(h, fd(len(user)+i))
	}
	env = "user=" + strings.Join(u, ",") + ";home=" + strings.Join(h, ",")
	return append(user, home...), env, nil
}

// writeUserLimit writes the child's limit in controller c.
func (d *Driver) writeUserLimit(c, id string, l runtime.Limits) error {
	child := filepath.Join(d.cgroups.dir(c, id), userCgroupName)
	var file string
	var v int64
	switch c {
	case "pids":
		file, v = "pids.max", userPids(l)
	case "memory":
		file, v = "memory.limit_in_bytes", userMemory(l)
	default:
		return nil
	}
	if err := os.WriteFile(filepath.Join(child, file), []byte(strconv.FormatInt(v, 10)), 0); err != nil {
		return fmt.Errorf("set user cgroup %s: %w", file, err)
	}
	return nil
}

// userCgroupExists reports whether the sandbox has the child.
func (d *Driver) userCgroupExists(id string) bool {
	return !d.cgroups.unified && d.cgroups.mounts["pids"] != "" &&
		dirExists(filepath.Join(d.cgroups.dir("pids", id), userCgroupName))
}

// userExecArgs are the `runtime exec` flags that start a process in the
// child, as the agent starts them.
func (d *Driver) userExecArgs(id string) []string {
	if !d.userCgroupExists(id) {
		return nil
	}
	var args []string
	for _, c := range userControllers {
		// A sandbox made before a controller was added has no child there.
		if dirExists(filepath.Join(d.cgroups.dir(c, id), userCgroupName)) {
			args = append(args, "--cgroup", c+":"+userCgroupName)
		}
	}
	return args
}

// configUserControllers is how many controllers the agent of sandbox id
// was handed files of, read from its config; 0 when unknown.
func (d *Driver) configUserControllers(id string) int {
	b, err := os.ReadFile(filepath.Join(d.sandboxDir(id), "config.json"))
	if err != nil {
		return 0
	}
	i := strings.Index(string(b), userCgroupEnv+"=user=")
	if i < 0 {
		return 0
	}
	v, _, _ := strings.Cut(string(b[i+len(userCgroupEnv+"=user="):]), ";")
	return len(strings.Split(v, ","))
}

func closeFiles(fs []*os.File) {
	for _, f := range fs {
		f.Close()
	}
}

var _ runtime.UserKiller = (*Driver)(nil)

// KillUserProcesses SIGKILLs every process of the sandbox but its agent
// and waits until they are gone. It works however full the sandbox's
// limits are: it forks nothing inside the sandbox. Killed processes stay
// as zombies (holding their pids) until the agent reaps them, so a fork
// bomb cannot refill the child while it is emptied.
//
// The agent itself is listed in the child while it starts a process (the
// starting thread is in the child for the fork, and cgroup.procs lists a
// process if any of its threads is there): it is skipped by its pid.
func (d *Driver) KillUserProcesses(ctx context.Context, id string) error {
	if err := runtime.ValidateID(id); err != nil {
		return err
	}
	st, err := d.readState(id)
	if err != nil {
		return err
	}
	if !d.userCgroupExists(id) {
		return fmt.Errorf("sandbox %q: its processes are not apart from its agent (runtime %s): %w", id, st.Runtime, errdefs.ErrFailedPrecondition)
	}
	cs, err := d.state(ctx, st.Runtime, id)
	if err != nil {
		return fmt.Errorf("sandbox %q: kill user processes: %w", id, err)
	}
	if cs.Pid <= 0 {
		return fmt.Errorf("sandbox %q is not running: %w", id, errdefs.ErrFailedPrecondition)
	}
	procs := filepath.Join(d.cgroups.dir("pids", id), userCgroupName, "cgroup.procs")
	for {
		pids, err := readPids(procs)
		if err != nil {
			return fmt.Errorf("sandbox %q: kill user processes: %w", id, err)
		}
		live := 0
		for _, pid := range pids {
			if pid == cs.Pid {
				continue
			}
			if err := syscall.Kill(pid, syscall.SIGKILL); err == nil && !isZombie(pid) {
				live++
			}
		}
		if live == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("sandbox %q: kill user processes: %d left: %w", id, live, ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func readPids(path string) ([]int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, f := range strings.Fields(string(b)) {
		if pid, err := strconv.Atoi(f); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// isZombie reports whether pid has exited and waits for its reaper (or is
// gone already).
func isZombie(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return errors.Is(err, os.ErrNotExist)
	}
	// pid (comm) S ...: the state follows the last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && (s[i+2] == 'Z' || s[i+2] == 'X')
}
