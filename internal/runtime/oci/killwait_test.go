package oci

import (
	"os/exec"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// killAndWait returns only once every process it was given has exited:
// each is a zombie, waiting to be reaped, the moment it returns.
func TestKillAndWaitReturnsAfterTheExits(t *testing.T) {
	var cmds []*exec.Cmd
	var pids []int
	for range 3 {
		// A shell with a child of its own: the shell's exit is not
		// instant, it has a process to leave behind.
		c := exec.Command("sh", "-c", "sleep 60 & exec sleep 60")
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, c)
		pids = append(pids, c.Process.Pid)
	}
	t.Cleanup(func() {
		for _, c := range cmds {
			_ = c.Process.Kill()
			_ = c.Wait()
		}
	})

	killAndWait(pids, time.Now().Add(10*time.Second))

	for i, pid := range pids {
		// WNOWAIT: look without reaping; WNOHANG: a process still
		// running answers at once, leaving info zero.
		var info unix.Siginfo
		if err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil); err != nil {
			t.Fatalf("waitid %d: %v", pid, err)
		}
		if info.Signo != int32(unix.SIGCHLD) || info.Code != cldKilled {
			t.Errorf("process %d had not been killed when killAndWait returned (signo %d, code %d)", pid, info.Signo, info.Code)
		}
		err := cmds[i].Wait()
		ws, ok := cmds[i].ProcessState.Sys().(syscall.WaitStatus)
		if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			t.Errorf("process %d ended with %v, want SIGKILL", pid, err)
		}
	}

	// Pids that are gone are skipped, not waited for until the deadline.
	done := make(chan struct{})
	go func() { killAndWait(pids, time.Now().Add(time.Hour)); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("killAndWait of reaped pids did not return")
	}
}

// cldKilled is si_code CLD_KILLED: the child was killed by a signal.
const cldKilled = 2
