package oci

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// execFifo is the fifo in a runc container's state directory that its
// init, once the container is set up, opens for writing and writes one
// byte to before it execs the container's process.
func (d *Driver) execFifo(id string) string {
	return filepath.Join(d.root, "runc", id, "exec.fifo")
}

// startThroughFifo does to a created runc container what `runc start`
// does, in this process: open the exec fifo for reading, which lets the
// waiting init write its byte and exec the agent; read to the end (the
// init's end closes on its exec); remove the fifo, which is what makes
// runc report the container running from then on. A runc process costs
// 5–6 ms of CPU per create for this (docs/PERFORMANCE.md).
//
// handled is false when there is no fifo to open (the sandbox is already
// started or stopped, or another runc's layout): the caller then runs
// `runc start`, whose refusal says which. pid is the init's.
func (d *Driver) startThroughFifo(ctx context.Context, id string, pid int) (handled bool, err error) {
	path := d.execFifo(id)
	if fi, err := os.Lstat(path); err != nil || fi.Mode().Type() != fs.ModeNamedPipe {
		return false, nil
	}
	// Non-blocking: the open returns at once whether or not the init has
	// opened its end yet, and reads wait in the poller, bounded below.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return true, fmt.Errorf("sandbox %q: start: %w", id, err)
	}
	defer f.Close()
	deadline := time.Now().Add(30 * time.Second)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	if err := f.SetReadDeadline(deadline); err != nil {
		return true, fmt.Errorf("sandbox %q: start: %w", id, err)
	}
	var buf [8]byte
	got := 0
	for {
		n, err := f.Read(buf[:])
		got += n
		if err == nil {
			continue
		}
		if !errors.Is(err, io.EOF) {
			return true, fmt.Errorf("sandbox %q: start: waiting for the runtime's init: %w", id, err)
		}
		if got > 0 {
			break // the init wrote its byte and exec'd
		}
		// No writer: the init has not opened its end yet, or is gone.
		if !d.inSandboxCgroup(id, pid) {
			return true, fmt.Errorf("sandbox %q: the runtime's init ended before the start: %w", id, errdefs.ErrFailedPrecondition)
		}
		if err := ctx.Err(); err != nil {
			return true, err
		}
		if time.Now().After(deadline) {
			return true, fmt.Errorf("sandbox %q: start: the runtime's init did not open its end of %s: %w", id, path, os.ErrDeadlineExceeded)
		}
		time.Sleep(time.Millisecond)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return true, fmt.Errorf("sandbox %q: start: %w", id, err)
	}
	return true, nil
}
