package oci

import (
	"errors"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// killAndWait SIGKILLs pids and waits until every one has exited or
// deadline passes. Each is signalled through a pidfd, which then becomes
// readable at its exit, so the wait is the kernel's notice rather than a
// poll. Where pidfds are missing (kernels before 5.3) a pid is killed
// directly, and the caller's next read of the cgroups finds it
// gone or tries again.
func killAndWait(pids []int, deadline time.Time) {
	fds := make([]unix.PollFd, 0, len(pids))
	defer func() {
		for _, f := range fds {
			unix.Close(int(f.Fd))
		}
	}()
	direct := false
	for _, pid := range pids {
		fd, err := unix.PidfdOpen(pid, 0)
		if errors.Is(err, unix.ESRCH) {
			continue // gone already
		}
		if err != nil {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			direct = true
			continue
		}
		fds = append(fds, unix.PollFd{Fd: int32(fd), Events: unix.POLLIN})
		if err := unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0); err != nil && !errors.Is(err, unix.ESRCH) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	if direct {
		time.Sleep(time.Millisecond)
	}
	for len(fds) > 0 {
		left := time.Until(deadline)
		if left <= 0 {
			return
		}
		n, err := unix.Poll(fds, int(min(left, time.Second).Milliseconds())+1)
		if errors.Is(err, unix.EINTR) || n == 0 {
			continue
		}
		if err != nil {
			return
		}
		live := fds[:0]
		for _, f := range fds {
			if f.Revents != 0 {
				unix.Close(int(f.Fd))
				continue
			}
			live = append(live, f)
		}
		fds = live
	}
}
