package oci

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/soulbox/soulbox/internal/envd"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/runtime"
)

// dialAgent dials the sandbox's agent until it answers or 20 s pass.
func dialAgent(t *testing.T, d *Driver, id string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		conn, err := d.DialContext(context.Background(), id, envd.Port)
		if err == nil {
			conn.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("dial the agent of %s: %v", id, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kept reports whether the driver keeps a namespace for id's dials.
func kept(d *Driver, id string) bool {
	d.dials.mu.Lock()
	defer d.dials.mu.Unlock()
	return d.dials.m[id] != nil
}

// A dial uses the namespace kept from the last only while the sandbox's
// process that it came from lives: after the sandbox was stopped a dial
// finds it not running, and after it was made again (a fresh process in
// a fresh namespace, as after a restore) it reaches the new agent, not
// the dead namespace. A destroy lets go of the namespace.
func TestDialCacheFollowsTheSandbox(t *testing.T) {
	if testing.Short() {
		t.Skip("creates a real sandbox")
	}
	d := newTestDriver(t, nil)
	ctx := context.Background()
	const id = "dialcache1"
	if _, err := d.Create(ctx, runtime.Spec{ID: id, Template: "base"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Destroy(context.Background(), id) })
	if err := d.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	dialAgent(t, d, id)
	if !kept(d, id) {
		t.Fatal("a dial kept nothing for the next one")
	}

	// Dials at once share what is kept and close nothing under each other.
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			conn, err := d.DialContext(ctx, id, envd.Port)
			if err != nil {
				t.Errorf("concurrent dial: %v", err)
				return
			}
			conn.Close()
		})
	}
	wg.Wait()

	if err := d.Stop(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := d.DialContext(ctx, id, envd.Port); !errdefs.IsFailedPrecondition(err) {
		t.Errorf("dial of a stopped sandbox: %v, want not running", err)
	}
	if kept(d, id) {
		t.Error("the namespace of a stopped sandbox is still kept")
	}

	if err := d.Recreate(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := d.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	dialAgent(t, d, id)

	e, _ := d.dials.get(id)
	if e == nil {
		t.Fatal("nothing kept for the recreated sandbox")
	}
	d.dials.release(e)
	if err := d.Destroy(ctx, id); err != nil {
		t.Fatal(err)
	}
	d.dials.mu.Lock()
	refs := e.refs
	d.dials.mu.Unlock()
	if kept(d, id) || refs != 0 {
		t.Errorf("after destroy: kept %v, %d holders of the namespace", kept(d, id), refs)
	}
	if _, err := d.DialContext(ctx, id, envd.Port); err == nil {
		t.Error("dial of a destroyed sandbox succeeded")
	}
}

// holds lists this process's fds on the network namespace whose inode is
// ino, and counts its pidfds.
func holds(t *testing.T, ino uint64) (netns []string, pidfds int) {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	for _, fd := range fds {
		target, _ := os.Readlink(filepath.Join("/proc/self/fd", fd.Name()))
		switch {
		case target == fmt.Sprintf("net:[%d]", ino):
			netns = append(netns, fd.Name())
		case strings.Contains(target, "pidfd"):
			pidfds++
		}
	}
	return netns, pidfds
}

// A dial that found the namespace while the sandbox was destroyed (the
// teardown found nothing kept to let go of) does not keep it after: once
// the destroy is done and the dial over, nothing of the sandbox is held.
func TestDialRacingDestroyKeepsNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("creates a real sandbox")
	}
	d := newTestDriver(t, nil)
	ctx := context.Background()
	const id = "dialrace1"
	if _, err := d.Create(ctx, runtime.Spec{ID: id, Template: "base"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Destroy(context.Background(), id) })
	if err := d.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	pid, err := readPidFile(filepath.Join(d.sandboxDir(id), "init.pid"))
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(fmt.Sprintf("/proc/%d/ns/net", pid))
	if err != nil {
		t.Fatal(err)
	}
	ino := fi.Sys().(*syscall.Stat_t).Ino
	_, pidfdsBefore := holds(t, ino)

	found, resume := make(chan struct{}), make(chan struct{})
	d.dials.found = func(string) {
		close(found)
		<-resume
	}
	dialed := make(chan error)
	go func() {
		conn, err := d.DialContext(ctx, id, envd.Port)
		if err == nil {
			conn.Close()
		}
		dialed <- err
	}()
	<-found // the dial has the namespace and pidfd, not kept yet
	if err := d.Destroy(ctx, id); err != nil {
		t.Fatal(err)
	}
	close(resume)
	<-dialed
	d.dials.found = nil

	netns, pidfds := holds(t, ino)
	if kept(d, id) || len(netns) > 0 || pidfds > pidfdsBefore {
		t.Errorf("after destroy and the dial: kept %v, fds %v on its namespace, %d pidfds (%d before)",
			kept(d, id), netns, pidfds, pidfdsBefore)
	}
}

// openNetnsPidfd returns an fd of this process's network namespace and a pidfd of
// process pid, closed at the end of the test unless the cache did.
func openNetnsPidfd(t *testing.T, pid int) (ns, pidfd int) {
	t.Helper()
	ns, err := unix.Open("/proc/self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	pidfd, err = unix.PidfdOpen(pid, 0)
	if err != nil {
		unix.Close(ns)
		t.Fatal(err)
	}
	return ns, pidfd
}

// isOpen reports whether fd is an open file descriptor.
func isOpen(fd int) bool {
	_, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
	return err == nil
}

// A lookup keeps what it found for the next dials, unless its sandbox
// was forgotten while it looked (even though the process still lives)
// or the process it found has exited; then the dial's release closes
// both fds.
func TestDialLookupKeepsOnlyWhatIsCurrent(t *testing.T) {
	var c dialCache
	_, l := c.get("sb")
	ns, pidfd := openNetnsPidfd(t, os.Getpid())
	e := c.put(l, ns, pidfd)
	c.release(e)
	if got, _ := c.get("sb"); got != e {
		t.Fatal("a lookup of a live process kept nothing")
	} else {
		c.release(got)
	}
	c.forget("sb")
	if isOpen(ns) || isOpen(pidfd) {
		t.Fatal("forget left the fds open")
	}

	// Forgotten while looking: a teardown that found nothing kept.
	_, l = c.get("sb2")
	ns, pidfd = openNetnsPidfd(t, os.Getpid())
	c.forget("sb2")
	e = c.put(l, ns, pidfd)
	if c.m["sb2"] != nil {
		t.Error("a lookup forgotten while under way was kept")
	}
	c.release(e)
	if isOpen(ns) || isOpen(pidfd) {
		t.Error("the dial's release left the fds of a forgotten lookup open")
	}

	// Found a process that has exited since.
	cmd := exec.Command("true")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	_, l = c.get("sb3")
	ns, pidfd = openNetnsPidfd(t, cmd.Process.Pid)
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	e = c.put(l, ns, pidfd)
	if c.m["sb3"] != nil {
		t.Error("the namespace of an exited process was kept")
	}
	c.release(e)
	if isOpen(ns) || isOpen(pidfd) {
		t.Error("the dial's release left the fds of an exited process open")
	}
	if len(c.lookups) != 0 {
		t.Errorf("%d lookups left", len(c.lookups))
	}
}

// netnsIno is the inode of the network namespace of the sandbox's pid 1.
func netnsIno(t *testing.T, d *Driver, id string) uint64 {
	t.Helper()
	pid, err := readPidFile(filepath.Join(d.sandboxDir(id), "init.pid"))
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(fmt.Sprintf("/proc/%d/ns/net", pid))
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino
}

// A stop lets go of the namespace kept for the sandbox's dials at once,
// with no dial after it; a closed driver lets go of every one and keeps
// none for later dials, which still work.
func TestStopAndCloseKeepNoDialHandle(t *testing.T) {
	if testing.Short() {
		t.Skip("creates a real sandbox")
	}
	d := newTestDriver(t, nil)
	ctx := context.Background()
	const id = "dialstop1"
	if _, err := d.Create(ctx, runtime.Spec{ID: id, Template: "base"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Destroy(context.Background(), id) })
	if err := d.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	ino := netnsIno(t, d, id)
	_, pidfdsBefore := holds(t, ino)
	dialAgent(t, d, id)
	if !kept(d, id) {
		t.Fatal("a dial kept nothing for the next one")
	}
	if err := d.Stop(ctx, id); err != nil {
		t.Fatal(err)
	}
	if netns, pidfds := holds(t, ino); kept(d, id) || len(netns) > 0 || pidfds > pidfdsBefore {
		t.Errorf("after stop: kept %v, fds %v on its namespace, %d pidfds (%d before)",
			kept(d, id), netns, pidfds, pidfdsBefore)
	}

	if err := d.Recreate(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := d.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	ino = netnsIno(t, d, id)
	dialAgent(t, d, id)
	if !kept(d, id) {
		t.Fatal("a dial kept nothing for the next one")
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if netns, pidfds := holds(t, ino); kept(d, id) || len(netns) > 0 || pidfds > pidfdsBefore {
		t.Errorf("after close: kept %v, fds %v on its namespace, %d pidfds (%d before)",
			kept(d, id), netns, pidfds, pidfdsBefore)
	}
	dialAgent(t, d, id)
	if netns, _ := holds(t, ino); kept(d, id) || len(netns) > 0 {
		t.Errorf("a dial after close kept its namespace: kept %v, fds %v", kept(d, id), netns)
	}
}
