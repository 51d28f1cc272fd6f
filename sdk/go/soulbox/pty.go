package soulbox

import (
	"context"
	"io"
	"sync"
	"time"

	"connectrpc.com/connect"

	pb "github.com/soulbox/soulbox/api/envd/process"
	"github.com/soulbox/soulbox/api/envd/process/processconnect"
)

// PTY opens interactive terminals in a sandbox.
type PTY struct {
	sb *Sandbox
}

// PTYOptions say how to open a terminal; zero fields take defaults
// (80x24, the default user, xterm-256color).
type PTYOptions struct {
	Cols, Rows uint32
	User       string
	Cwd        string
	Envs       map[string]string
}

// Create starts an interactive login shell on a new terminal, as E2B's
// pty.create. ctx bounds the terminal's life: cancelling it kills the
// shell.
func (p *PTY) Create(ctx context.Context, o *PTYOptions) (*Terminal, error) {
	if o == nil {
		o = &PTYOptions{}
	}
	cols, rows := o.Cols, o.Rows
	if cols == 0 {
		cols = 80
	}
	if rows == 0 {
		rows = 24
	}
	envs := map[string]string{"TERM": "xterm-256color", "LANG": "C.UTF-8"}
	for k, v := range o.Envs {
		envs[k] = v
	}
	req := &pb.StartRequest{
		Process: &pb.ProcessConfig{Cmd: "/bin/bash", Args: []string{"-i", "-l"}, Envs: envs},
		Pty:     &pb.PTY{Size: &pb.PTY_Size{Cols: cols, Rows: rows}},
	}
	if o.Cwd != "" {
		req.Process.Cwd = &o.Cwd
	}
	proc := p.sb.process(o.User)
	creq := connect.NewRequest(req)
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stream, err := proc.Start(sctx, creq)
	if err != nil {
		cancel()
		return nil, wrap(ctx, err)
	}
	if !stream.Receive() {
		cancel()
		stream.Close()
		return nil, wrap(ctx, streamErr(stream.Err()))
	}
	pr, pw := io.Pipe()
	t := &Terminal{PID: stream.Msg().GetEvent().GetStart().GetPid(), proc: proc, r: pr, cancel: cancel, done: make(chan struct{}), exit: -1}
	go t.pump(stream, pw)
	go func() {
		select {
		case <-t.done:
		case <-ctx.Done():
			_ = t.Close()
		}
	}()
	return t, nil
}

// Terminal is a shell on a PTY in the sandbox. Read returns what the
// terminal shows (io.EOF once the shell ended), Write types into it.
type Terminal struct {
	// PID is the shell's process id in the sandbox.
	PID uint32

	proc   processconnect.ProcessClient
	r      *io.PipeReader
	cancel context.CancelFunc
	done   chan struct{}

	mu        sync.Mutex
	exit      int
	closeOnce sync.Once
}

var _ io.ReadWriteCloser = (*Terminal)(nil)

func (t *Terminal) pump(s *connect.ServerStreamForClient[pb.StartResponse], w *io.PipeWriter) {
	defer close(t.done)
	defer s.Close()
	for s.Receive() {
		switch ev := s.Msg().GetEvent().GetEvent().(type) {
		case *pb.ProcessEvent_Data:
			if b := ev.Data.GetPty(); b != nil {
				if _, err := w.Write(b); err != nil {
					return // the reader closed the terminal
				}
			}
		case *pb.ProcessEvent_End:
			t.mu.Lock()
			if ev.End.GetExited() {
				t.exit = int(ev.End.GetExitCode())
			}
			t.mu.Unlock()
			w.Close()
			return
		}
	}
	w.CloseWithError(wrap(context.Background(), streamErr(s.Err())))
}

// Read reads the terminal's output.
func (t *Terminal) Read(p []byte) (int, error) { return t.r.Read(p) }

// Write types p into the terminal.
func (t *Terminal) Write(p []byte) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	in := &pb.ProcessInput{Input: &pb.ProcessInput_Pty{Pty: append([]byte(nil), p...)}}
	if _, err := t.proc.SendInput(ctx, connect.NewRequest(&pb.SendInputRequest{Process: pidSelector(t.PID), Input: in})); err != nil {
		return 0, wrap(ctx, err)
	}
	return len(p), nil
}

// Resize changes the terminal's size.
func (t *Terminal) Resize(ctx context.Context, cols, rows uint32) error {
	_, err := t.proc.Update(ctx, connect.NewRequest(&pb.UpdateRequest{Process: pidSelector(t.PID), Pty: &pb.PTY{Size: &pb.PTY_Size{Cols: cols, Rows: rows}}}))
	return wrap(ctx, err)
}

// Wait waits for the shell to end and returns its exit code (-1 when a
// signal ended it).
func (t *Terminal) Wait() int {
	<-t.done
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.exit
}

// Close kills the shell and stops reading.
func (t *Terminal) Close() error {
	t.closeOnce.Do(func() {
		select {
		case <-t.done:
		default:
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			_ = signal(ctx, t.proc, t.PID, SIGKILL)
			cancel()
		}
		t.r.Close()
		select {
		case <-t.done:
		case <-time.After(5 * time.Second):
		}
		t.cancel()
	})
	return nil
}
