// Package process runs and tracks the processes a sandbox's clients start
// through the agent: their output fanned out to every connected client as
// it is produced, their stdin, PTY, signals and exit. The Connect RPC
// service of E2B's envd protocol is a thin layer over it (service.go).
package process

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// Stream says where output came from.
type Stream int

// The output streams.
const (
	Stdout Stream = iota
	Stderr
	PTY
)

// Event is one thing that happened to a process: output, or its end.
type Event struct {
	Stream Stream
	Data   []byte
	End    *Exit // set on the last event
}

// Exit is how a process ended.
type Exit struct {
	Code   int    // exit code, or -1 when killed by a signal
	Status string // "exit status 3", "signal: killed"
	Exited bool   // false when killed by a signal
}

// Proc is one process started by the agent.
type Proc struct {
	Pid    int
	Tag    string
	Config Config

	stdin io.WriteCloser // nil when stdin was closed or never open
	pty   *os.File       // the PTY's master side, nil without a PTY

	mu     sync.Mutex
	subs   map[*subscriber]struct{}
	exit   *Exit
	done   chan struct{} // closed after the end event went out
	inMu   sync.Mutex
	closed bool
}

type subscriber struct {
	ch   chan Event
	quit chan struct{} // closed when the subscriber leaves
	once sync.Once
}

// Subscribe returns a channel of the process's events from now on (no
// replay) and a function that ends the subscription. The channel gets the
// end event last and is then closed. Output is never dropped: a subscriber
// that does not read holds up the process's output (as a full pipe would)
// until it reads or leaves.
func (p *Proc) Subscribe() (<-chan Event, func()) {
	s := &subscriber{ch: make(chan Event, 64), quit: make(chan struct{})}
	leave := func() {
		s.once.Do(func() { close(s.quit) })
		p.mu.Lock()
		delete(p.subs, s)
		p.mu.Unlock()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.exit != nil {
		s.ch <- Event{End: p.exit}
		close(s.ch)
		return s.ch, leave
	}
	p.subs[s] = struct{}{}
	return s.ch, leave
}

func (p *Proc) subscribers() []*subscriber {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]*subscriber, 0, len(p.subs))
	for s := range p.subs {
		out = append(out, s)
	}
	return out
}

// publish sends ev to every subscriber still there.
func (p *Proc) publish(ev Event) {
	for _, s := range p.subscribers() {
		select {
		case s.ch <- ev:
		case <-s.quit:
		}
	}
}

// finish publishes the end, closes every subscription and marks the
// process done. Called once, after all output was published.
func (p *Proc) finish(exit Exit) {
	p.mu.Lock()
	p.exit = &exit
	p.mu.Unlock()
	p.publish(Event{End: &exit})
	p.mu.Lock()
	for s := range p.subs {
		delete(p.subs, s)
		close(s.ch)
	}
	p.mu.Unlock()
	close(p.done)
}

// Done is closed once the process has ended and its end was published.
func (p *Proc) Done() <-chan struct{} { return p.done }

// WriteStdin writes to the process's stdin (or its PTY when it has one
// and pty is true).
func (p *Proc) WriteStdin(data []byte, pty bool) error {
	p.inMu.Lock()
	defer p.inMu.Unlock()
	var w io.Writer
	switch {
	case pty && p.pty != nil:
		w = p.pty
	case pty:
		return fmt.Errorf("process %d has no PTY: %w", p.Pid, ErrInvalid)
	case p.pty != nil:
		w = p.pty // a PTY process reads its input from the terminal
	case p.stdin == nil || p.closed:
		return fmt.Errorf("stdin of process %d is closed: %w", p.Pid, ErrInvalid)
	default:
		w = p.stdin
	}
	_, err := w.Write(data)
	if errors.Is(err, unix.EPIPE) || errors.Is(err, os.ErrClosed) {
		return fmt.Errorf("process %d no longer reads its stdin: %w", p.Pid, ErrInvalid)
	}
	return err
}

// CloseStdin closes the process's stdin: it reads EOF. For a PTY process
// it sends the terminal's end-of-file character (Ctrl-D).
func (p *Proc) CloseStdin() error {
	p.inMu.Lock()
	defer p.inMu.Unlock()
	if p.pty != nil {
		_, err := p.pty.Write([]byte{4})
		return err
	}
	if p.stdin == nil || p.closed {
		return nil
	}
	p.closed = true
	return p.stdin.Close()
}

// Signal sends sig to the process's whole process group, so that a shell's
// children go with it.
func (p *Proc) Signal(sig unix.Signal) error {
	err := unix.Kill(-p.Pid, sig)
	if errors.Is(err, unix.ESRCH) {
		err = unix.Kill(p.Pid, sig)
	}
	if errors.Is(err, unix.ESRCH) {
		return nil // already gone: its end event is on its way
	}
	return err
}

// Resize sets the size of the process's terminal.
func (p *Proc) Resize(cols, rows uint16) error {
	if p.pty == nil {
		return fmt.Errorf("process %d has no PTY: %w", p.Pid, ErrInvalid)
	}
	return unix.IoctlSetWinsize(int(p.pty.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Col: cols, Row: rows})
}
