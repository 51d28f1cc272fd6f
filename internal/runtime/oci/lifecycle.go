package oci

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/logx"
	"github.com/soulbox/soulbox/internal/runtime"
)

// Start starts the sandbox's agent.
func (d *Driver) Start(ctx context.Context, id string) error {
	end := d.phase("start.runtime-start")
	if err := d.startContainer(ctx, id); err != nil {
		return err
	}
	end()
	if st, err := d.readState(id); err == nil && st.Runtime == "runsc" {
		// The pid runsc reports is the Sentry, which holds every process
		// of the sandbox, the agent's and the memory hog's alike: the
		// agent is no host process of its own to protect, and shielding
		// the Sentry would leave the OOM killer only the gofer and the
		// systrap stubs to pick: a sandbox broken but still running.
		return d.configureRunscCgroups(ctx, st)
	}
	defer d.phase("start.protect-agent")()
	return d.protectAgent(ctx, id)
}

// startContainer runs the runtime's start, valid only on a created
// sandbox. runc checks the state itself and says what is wrong in words
// of its own, which are mapped here: asking it for the state first, as
// transition does, would cost a runtime process per cold create.
func (d *Driver) startContainer(ctx context.Context, id string) error {
	if err := runtime.ValidateID(id); err != nil {
		return err
	}
	// A sandbox's runtime never changes; its state file may go with a
	// concurrent destroy, which is read again under the lock.
	if st, err := d.readState(id); err != nil {
		return err
	} else if st.Runtime != "runc" {
		return d.transition(ctx, id, "start", runtime.StatusCreated)
	}
	unlock := d.lock(id)
	defer unlock()
	st, err := d.readState(id)
	if err != nil {
		return err
	}
	if pid, perr := readPidFile(filepath.Join(d.sandboxDir(id), "init.pid")); perr == nil {
		if handled, err := d.startThroughFifo(ctx, id, pid); handled {
			return err
		}
	}
	_, err = d.runRuntime(ctx, st.Runtime, "start", id)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, errContainerNotExist):
		return fmt.Errorf("sandbox %q is %s, start needs it %s: %w", id, runtime.StatusStopped, runtime.StatusCreated, errdefs.ErrFailedPrecondition)
	case strings.Contains(err.Error(), "cannot start a"):
		// "cannot start an already running container", "... a
		// container that has stopped", "... in the paused state"
		return fmt.Errorf("sandbox %q: %w: %w", id, err, errdefs.ErrFailedPrecondition)
	}
	return fmt.Errorf("sandbox %q: %w", id, err)
}

// protectAgent makes the agent the last process the OOM killer picks:
// without it the sandbox is unreachable. Only the host may lower a score,
// and only once the agent runs: before its exec the runtime's init is not
// dumpable and its /proc files refuse even the host's root. The processes
// the agent starts inherit the score; the agent raises theirs back.
//
// Lowering needs CAP_SYS_RESOURCE; a server without it (some hosts drop it
// even from root) runs the agent unprotected, where it is still the
// smallest process of its cgroup and so the OOM killer's last choice.
//
// The agent is the container's init, whose pid the runtime wrote at
// create; the sandbox's cgroup vouches that the pid is still that process
// (a pid is reused only after its process is gone from every cgroup),
// which a runtime state command would otherwise be run to learn.
func (d *Driver) protectAgent(ctx context.Context, id string) error {
	pid, err := readPidFile(filepath.Join(d.sandboxDir(id), "init.pid"))
	if err != nil {
		return fmt.Errorf("sandbox %q: %w", id, err)
	}
	if !d.inSandboxCgroup(id, pid) {
		return fmt.Errorf("sandbox %q: agent exited right after start: %w", id, errdefs.ErrUnavailable)
	}
	if err := waitExec(ctx, pid, filepath.Base(agentPathInSandbox)); err != nil {
		return fmt.Errorf("sandbox %q: %w", id, err)
	}
	err = os.WriteFile(fmt.Sprintf("/proc/%d/oom_score_adj", pid), []byte("-998"), 0)
	if errors.Is(err, os.ErrPermission) {
		d.log.Debug("agent not protected from the OOM killer: no CAP_SYS_RESOURCE", logx.Sandbox(id))
		return nil
	}
	if err != nil {
		return fmt.Errorf("sandbox %q: protect agent from the OOM killer: %w", id, err)
	}
	return nil
}

// waitExec waits until process pid runs the program named comm: the
// runtime's start returns once it has let the container's init go, which
// then still has to exec.
func waitExec(ctx context.Context, pid int, comm string) error {
	path := fmt.Sprintf("/proc/%d/comm", pid)
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := os.ReadFile(path)
		if err == nil && strings.TrimSpace(string(b)) == comm && !isZombie(pid) {
			return nil
		}
		if err != nil || isZombie(pid) {
			return fmt.Errorf("agent exited right after start: %w", errdefs.ErrUnavailable)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("agent did not start: runtime init still runs %q: %w", strings.TrimSpace(string(b)), errdefs.ErrUnavailable)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for the agent to start: %w", ctx.Err())
		case <-time.After(200 * time.Microsecond):
		}
	}
}

// inSandboxCgroup reports whether pid is a process of the sandbox's own
// cgroup (not of its child for user processes).
func (d *Driver) inSandboxCgroup(id string, pid int) bool {
	// Every host has the memory controller (detectCgroups); on v2 it is
	// the one hierarchy.
	pids, err := readPids(filepath.Join(d.cgroups.dir("memory", id), "cgroup.procs"))
	return err == nil && slices.Contains(pids, pid)
}

// Pause freezes every process of the sandbox.
func (d *Driver) Pause(ctx context.Context, id string) error {
	return d.transition(ctx, id, "pause", runtime.StatusRunning)
}

// Resume thaws a paused sandbox.
func (d *Driver) Resume(ctx context.Context, id string) error {
	return d.transition(ctx, id, "resume", runtime.StatusPaused)
}

// transition runs one runtime verb that is valid only from state from, so
// that a client asking for the wrong thing gets ErrFailedPrecondition
// rather than the runtime's wording.
func (d *Driver) transition(ctx context.Context, id, verb string, from runtime.Status) error {
	st, status, unlock, err := d.lockedState(ctx, id)
	if err != nil {
		return err
	}
	defer unlock()
	if status != from {
		return fmt.Errorf("sandbox %q is %s, %s needs it %s: %w", id, status, verb, from, errdefs.ErrFailedPrecondition)
	}
	if _, err := d.runRuntime(ctx, st.Runtime, verb, id); err != nil {
		return fmt.Errorf("sandbox %q: %w", id, err)
	}
	return nil
}

// Stop kills every process of the sandbox and waits until they are gone.
// Its files, mounts and cgroups stay until Destroy; the namespace kept
// for its dials is let go of.
func (d *Driver) Stop(ctx context.Context, id string) error {
	st, status, unlock, err := d.lockedState(ctx, id)
	if err != nil {
		return err
	}
	defer unlock()
	// A stopped sandbox holds no namespace open for dials: after its
	// processes are gone a dial finds it not running.
	defer d.dials.forget(id)
	switch status {
	case runtime.StatusStopped:
		return nil
	case runtime.StatusPaused:
		if st.Runtime == "runsc" {
			// gVisor pauses inside the Sentry, not with the host's
			// freezer, and refuses to signal a paused sandbox.
			if _, err := d.runRuntime(ctx, st.Runtime, "resume", id); err != nil {
				return fmt.Errorf("sandbox %q: %w", id, err)
			}
		} else {
			d.thaw(id)
		}
	}
	// Killing pid 1 of the sandbox's pid namespace kills all of it.
	if _, err := d.runRuntime(ctx, st.Runtime, "kill", id, "KILL"); err != nil && !errors.Is(err, errContainerNotExist) {
		return fmt.Errorf("sandbox %q: %w", id, err)
	}
	for {
		status, _, err := d.status(ctx, st)
		if err != nil {
			return err
		}
		if status == runtime.StatusStopped && len(d.cgroupProcs(id)) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("sandbox %q: wait for stop: %w", id, ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}
