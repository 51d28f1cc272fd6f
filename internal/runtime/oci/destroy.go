package oci

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/runtime"
)

// Destroy removes everything the sandbox owns. It works on a sandbox in
// any state, including the remains of a create that failed half-way or of
// a driver that crashed.
func (d *Driver) Destroy(ctx context.Context, id string) error {
	if err := runtime.ValidateID(id); err != nil {
		return err
	}
	unlock := d.lock(id)
	defer unlock()
	if !d.anyTrace(ctx, id) {
		return fmt.Errorf("sandbox %q: %w", id, errdefs.ErrNotFound)
	}
	st, err := d.readState(id)
	rt := st.Runtime
	if err != nil {
		rt = "" // unknown: try every runtime
	}
	return d.teardown(ctx, id, rt)
}

// anyTrace reports whether anything of the sandbox exists on the host.
func (d *Driver) anyTrace(ctx context.Context, id string) bool {
	if _, err := os.Lstat(d.sandboxDir(id)); err == nil {
		return true
	}
	if d.cgroups.exists(id) {
		return true
	}
	if d.network != nil && len(d.network.Leftovers(ctx, id)) > 0 {
		return true
	}
	for _, rt := range knownRuntimes {
		if _, err := d.state(ctx, rt, id); err == nil {
			return true
		}
	}
	return false
}

var knownRuntimes = []string{"runc", "crun", "runsc"}

// teardown releases the sandbox's resources in dependency order: processes,
// runtime state, mounts, cgroups, uid range, files. Each step tolerates
// the absence of what it removes, so teardown is idempotent and works on
// any partial state; it keeps going after a failed step and reports all.
func (d *Driver) teardown(ctx context.Context, id, rt string) error {
	var errs []error
	runtimes := knownRuntimes
	if rt != "" {
		runtimes = []string{rt}
	}
	end := d.phase("destroy.runtime-delete")
	for _, r := range runtimes {
		if err := d.deleteContainer(ctx, r, id); err != nil {
			errs = append(errs, err)
		}
	}
	// A runtime that died half-way may have left processes it no longer
	// knows about; the cgroup still does. A runc or crun container's
	// delete went by the cgroup already (deleteInCgroup) and, when it
	// succeeded, left it empty.
	if rt == "" || rt == "runsc" || len(errs) > 0 {
		if err := d.killCgroup(id); err != nil {
			errs = append(errs, err)
		}
	}
	end()
	// No dial holds the namespace (and with it the sandbox's links)
	// past the sandbox. Forgotten once its processes are dead, it is
	// kept by no dial after: one that found it before stops at its put,
	// and one that looks after finds the sandbox not running.
	d.dials.forget(id)
	// The network (links, policy, the kept namespace) shares nothing
	// with the mounts, cgroups and files below: it is removed beside
	// them, and most of its time is the kernel's wait for a namespace's
	// links to go.
	netDone := make(chan error, 1)
	if d.network != nil {
		go func() { netDone <- d.network.Teardown(ctx, id) }()
	} else {
		netDone <- nil
	}
	end = d.phase("destroy.unmount")
	if err := d.unmountAll(id); err != nil {
		errs = append(errs, err)
	}
	end()
	end = d.phase("destroy.cgroups")
	if err := d.cgroups.remove(id); err != nil {
		errs = append(errs, err)
	} else if err := d.removeCgroupParent(); err != nil {
		errs = append(errs, err)
	}
	end()
	end = d.phase("destroy.network-wait")
	if err := <-netDone; err != nil {
		errs = append(errs, err)
	}
	end()
	defer d.phase("destroy.files")()
	// The claim is found by its content, not only through state.json: a
	// crash during the RemoveAll below can take state.json and leave the
	// claim, which a later teardown must still release.
	defer d.releaseClaims(id)
	if err := os.RemoveAll(d.sandboxDir(id)); err != nil {
		errs = append(errs, fmt.Errorf("remove sandbox directory: %w", err))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sandbox %q: teardown: %w", id, err)
	}
	return nil
}

// deleteContainer stops and deletes the runtime's container if it has one.
func (d *Driver) deleteContainer(ctx context.Context, rt, id string) error {
	if rt != "runsc" {
		return d.deleteInCgroup(ctx, rt, id)
	}
	cs, err := d.state(ctx, rt, id)
	if errors.Is(err, errContainerNotExist) {
		return nil
	}
	if err != nil {
		if _, lerr := exec.LookPath(rt); lerr != nil {
			return nil // runtime not installed: it has no container
		}
		return err
	}
	if cs.Status == "paused" {
		// A frozen process cannot die: thaw it so SIGKILL lands.
		if _, err := d.runRuntime(ctx, rt, "resume", id); err != nil {
			return err
		}
	}
	if _, err := d.runRuntime(ctx, rt, "delete", "--force", id); err != nil && !errors.Is(err, errContainerNotExist) {
		return err
	}
	return nil
}

// deleteInCgroup deletes a runc or crun container by its cgroup: every
// process of the sandbox is in it, whatever the runtime remembers, so
// killing them there (a paused sandbox thawed first) leaves the runtime's
// delete only its record to remove, which for runc the driver does itself.
// Asking the runtime for the state first would cost a runtime process per
// destroy; and its forced delete polls for the death of what it killed in
// 100 ms steps.
func (d *Driver) deleteInCgroup(ctx context.Context, rt, id string) error {
	if err := d.killCgroup(id); err != nil {
		return err
	}
	if rt == "runc" {
		// What runc's forced delete does once the processes are gone,
		// without a runc process (6 ms of CPU): remove the container's
		// cgroups and its state directory.
		if err := d.cgroups.remove(id); err != nil {
			return err
		}
		if err := os.RemoveAll(filepath.Join(d.root, rt, id)); err != nil {
			return fmt.Errorf("remove the runtime's state: %w", err)
		}
		return nil
	}
	_, err := d.runRuntime(ctx, rt, "delete", "--force", id)
	if err == nil || errors.Is(err, errContainerNotExist) {
		return nil
	}
	if _, lerr := exec.LookPath(rt); lerr != nil {
		return nil // runtime not installed: it has no container
	}
	return err
}

// killCgroup SIGKILLs every process left in the sandbox's cgroups and waits
// until they are gone, thawing a frozen cgroup first. It waits on pidfds
// of the processes it killed rather than reading every hierarchy's
// cgroups again each millisecond (a read of them all costs about half a
// millisecond of CPU); one more read then finds what forked meanwhile,
// which is killed the same way.
func (d *Driver) killCgroup(id string) error {
	procs := d.cgroupProcs(id)
	if len(procs) == 0 {
		return nil
	}
	d.thaw(id)
	deadline := time.Now().Add(10 * time.Second)
	for {
		killAndWait(procs, deadline)
		if procs = d.cgroupProcs(id); len(procs) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("processes %v survived SIGKILL", procs)
		}
		// Not a spin while an exited process is still listed.
		time.Sleep(time.Millisecond)
	}
}

// cgroupProcs lists the pids in the sandbox's cgroups of every hierarchy.
func (d *Driver) cgroupProcs(id string) []int {
	seen := map[int]bool{}
	var pids []int
	for _, h := range d.cgroups.hierarchies() {
		root := filepath.Join(h, d.cgroups.parent, id)
		_ = filepath.WalkDir(root, func(p string, e os.DirEntry, err error) error {
			if err != nil || !e.IsDir() {
				return nil
			}
			b, _ := os.ReadFile(filepath.Join(p, "cgroup.procs"))
			for _, f := range strings.Fields(string(b)) {
				if pid, err := strconv.Atoi(f); err == nil && !seen[pid] {
					seen[pid] = true
					pids = append(pids, pid)
				}
			}
			return nil
		})
	}
	return pids
}

// thaw unfreezes the sandbox's cgroup on v1 or v2.
func (d *Driver) thaw(id string) {
	if d.cgroups.unified {
		_ = os.WriteFile(filepath.Join(d.cgroups.dir("", id), "cgroup.freeze"), []byte("0"), 0)
		return
	}
	if d.cgroups.mounts["freezer"] != "" {
		_ = os.WriteFile(filepath.Join(d.cgroups.dir("freezer", id), "freezer.state"), []byte("THAWED"), 0)
	}
}

// removeCgroupParent removes the driver's parent cgroup once its last
// sandbox is gone, unless a create is under way (it will need the parent;
// the next teardown tries again).
func (d *Driver) removeCgroupParent() error {
	if !d.parentMu.TryLock() {
		return nil
	}
	defer d.parentMu.Unlock()
	return d.cgroups.removeParent()
}
