package process

import (
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// outputGrace is how long output is read after a process exits while
// something else still holds its stdout, stderr or terminal open.
const outputGrace = 200 * time.Millisecond

// stdio is a process's standard streams: pipes, or one terminal.
type stdio struct {
	child  []*os.File // fds 0, 1, 2 of the child
	stdin  *os.File   // our end of the stdin pipe; nil when stdin is closed
	stdout *os.File
	stderr *os.File
	pty    *os.File // our end of the terminal
}

func newStdio(cfg Config) (*stdio, error) {
	s := &stdio{}
	if cfg.PTY != nil {
		master, slave, err := openPTY(*cfg.PTY)
		if err != nil {
			return nil, err
		}
		s.pty = master
		s.child = []*os.File{slave, slave, slave}
		return s, nil
	}
	ok := false
	defer func() {
		if !ok {
			s.closeChildSide()
			s.closeAll()
		}
	}()
	var stdinR *os.File
	if cfg.Stdin {
		r, w, err := os.Pipe()
		if err != nil {
			return nil, fmt.Errorf("stdin pipe: %w", err)
		}
		stdinR, s.stdin = r, w
	} else {
		null, err := os.Open(os.DevNull)
		if err != nil {
			return nil, err
		}
		stdinR = null
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("stdout pipe: %w", err)
	}
	s.stdout = outR
	errR, errW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("stderr pipe: %w", err)
	}
	s.stderr = errR
	s.child = []*os.File{stdinR, outW, errW}
	ok = true
	return s, nil
}

// readers maps each output stream to what reads it.
func (s *stdio) readers() map[Stream]*os.File {
	if s.pty != nil {
		return map[Stream]*os.File{PTY: s.pty}
	}
	return map[Stream]*os.File{Stdout: s.stdout, Stderr: s.stderr}
}

// readOutput emits what r gives until its end or its deadline (deadline).
// At the deadline, what is already in the pipe or terminal is still
// read, without waiting for more: output written before the process
// ended is never dropped, however late this goroutine got a CPU (on a
// saturated host the deadline can pass before it read anything).
func readOutput(r *os.File, emit func([]byte)) {
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			emit(append([]byte(nil), buf[:n]...))
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			drainBuffered(r, buf, emit)
			return
		}
		if err != nil {
			return
		}
	}
}

// drainBuffered emits what r holds now, without waiting for more.
func drainBuffered(r *os.File, buf []byte, emit func([]byte)) {
	// A deadline passed makes every read fail before it is tried.
	if r.SetReadDeadline(time.Time{}) != nil {
		return
	}
	rc, err := r.SyscallConn()
	if err != nil {
		return
	}
	for {
		var n int
		// One non-blocking read: the fd is in the poller, so it is
		// non-blocking, and returning true never waits.
		if rc.Read(func(fd uintptr) bool {
			n, _ = unix.Read(int(fd), buf)
			return true
		}) != nil || n <= 0 {
			return
		}
		emit(append([]byte(nil), buf[:n]...))
	}
}

// deadline lets reads of the output end d from now.
func (s *stdio) deadline(d time.Duration) {
	t := time.Now().Add(d)
	for _, f := range s.readers() {
		_ = f.SetReadDeadline(t)
	}
}

// closeChildSide closes the child's ends in the agent once the child has
// its own copies (or failed to start).
func (s *stdio) closeChildSide() {
	seen := map[*os.File]bool{}
	for _, f := range s.child {
		if f != nil && !seen[f] {
			seen[f] = true
			f.Close()
		}
	}
	s.child = nil
}

func (s *stdio) closeAll() {
	for _, f := range []*os.File{s.stdin, s.stdout, s.stderr, s.pty} {
		if f != nil {
			f.Close()
		}
	}
}

// openPTY opens a new terminal pair of the given size.
func openPTY(size Size) (master, slave *os.File, err error) {
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("open terminal: %w", err)
	}
	fail := func(err error) (*os.File, *os.File, error) {
		m.Close()
		return nil, nil, fmt.Errorf("open terminal: %w", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		return fail(err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		return fail(err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fail(err)
	}
	if size.Cols == 0 || size.Rows == 0 {
		size = Size{Cols: 80, Rows: 24}
	}
	if err := unix.IoctlSetWinsize(int(m.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Col: size.Cols, Row: size.Rows}); err != nil {
		s.Close()
		return fail(err)
	}
	return m, s, nil
}
