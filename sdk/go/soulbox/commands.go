package soulbox

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strconv"
	"sync"
	"time"

	"connectrpc.com/connect"

	pb "github.com/soulbox/soulbox/api/envd/process"
	"github.com/soulbox/soulbox/api/envd/process/processconnect"
)

// Commands runs commands in a sandbox: to completion with Run, in the
// background with Start.
type Commands struct {
	sb *Sandbox
}

// RunOptions say how to run a command. The zero value runs it as the
// sandbox's default user in its home, with no stdin.
type RunOptions struct {
	// User runs the command as this user (default: the template's).
	User string
	// Cwd is the working directory.
	Cwd string
	// Envs are added to the command's environment.
	Envs map[string]string
	// Stdin is copied to the command's stdin, which is then closed.
	Stdin io.Reader
	// OpenStdin keeps stdin open for SendStdin/CloseStdin on the handle
	// (ignored when Stdin is set).
	OpenStdin bool
	// Stdout and Stderr receive the output as it comes (a terminal's
	// output, for Connect to a PTY's shell, goes to Stdout).
	Stdout, Stderr io.Writer
	// OnStdout and OnStderr are called with each chunk of output as it
	// comes, after Stdout and Stderr.
	OnStdout, OnStderr func(data []byte)
	// Timeout makes the sandbox kill the command after it (0: none but
	// the context's deadline).
	Timeout time.Duration
	// Tag names the process, for Connect and List.
	Tag string
}

// CommandResult is what a finished command left.
type CommandResult struct {
	// Stdout and Stderr are the whole output.
	Stdout, Stderr string
	// ExitCode is the exit code, -1 when a signal ended the command.
	ExitCode int
	// Status is how the process ended, e.g. "exit status 1" or
	// "signal: killed".
	Status string
	// Error is what the sandbox reported when the command could not run.
	Error string
}

// Signal is a signal the agent can send to a process.
type Signal int

// Signals the envd protocol carries.
const (
	SIGTERM Signal = 15
	SIGKILL Signal = 9
)

// Run runs cmd with bash (as `bash -l -c cmd`, like E2B's commands.run)
// and waits for it. A non-zero exit returns the result and an *ExitError.
// Cancelling ctx kills the command.
func (c *Commands) Run(ctx context.Context, cmd string, o *RunOptions) (*CommandResult, error) {
	h, err := c.Start(ctx, cmd, o)
	if err != nil {
		return nil, err
	}
	return h.Wait()
}

// Start starts cmd with bash in the background and returns its handle
// once the sandbox has started it. ctx bounds the command's life:
// cancelling it kills the command (use Disconnect on the handle to stop
// watching a command and leave it running).
func (c *Commands) Start(ctx context.Context, cmd string, o *RunOptions) (*CommandHandle, error) {
	return c.Exec(ctx, []string{"/bin/bash", "-l", "-c", cmd}, o)
}

// Exec is Start with an argv instead of a shell command line.
func (c *Commands) Exec(ctx context.Context, argv []string, o *RunOptions) (*CommandHandle, error) {
	if len(argv) == 0 || argv[0] == "" {
		return nil, &Error{kind: ErrInvalidArgument, Message: "no command to run"}
	}
	if o == nil {
		o = &RunOptions{}
	}
	stdin := o.Stdin != nil || o.OpenStdin
	req := &pb.StartRequest{Process: &pb.ProcessConfig{Cmd: argv[0], Args: argv[1:], Envs: o.Envs}, Stdin: &stdin}
	if o.Cwd != "" {
		req.Process.Cwd = &o.Cwd
	}
	if o.Tag != "" {
		req.Tag = &o.Tag
	}
	proc := c.sb.process(o.User)
	creq := connect.NewRequest(req)
	if o.Timeout > 0 {
		// The agent kills the command at this deadline. Without it the
		// command runs until it ends or ctx does (then it is killed).
		creq.Header().Set("Connect-Timeout-Ms", strconv.FormatInt(o.Timeout.Milliseconds(), 10))
	}
	if err := ctx.Err(); err != nil {
		return nil, wrap(ctx, err)
	}
	// The stream outlives ctx once the command has started (watch kills
	// the command when ctx ends), but until the start event ctx ending
	// abandons the start.
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stopWatch := context.AfterFunc(ctx, cancel)
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
	// Should ctx have ended just as the command started, its stream is
	// cancelled and watch, seeing ctx done, kills the command.
	stopWatch()
	pid := stream.Msg().GetEvent().GetStart().GetPid()
	h := newHandle(c.sb, proc, pid, o, cancel)
	go pump(h, stream)
	go h.watch(ctx)
	if o.Stdin != nil {
		go h.feed(ctx, o.Stdin)
	}
	return h, nil
}

func streamErr(err error) error {
	if err == nil {
		return errors.New("the sandbox closed the stream before the command ended")
	}
	return err
}

// ProcessInfo is a process the sandbox's agent runs.
type ProcessInfo struct {
	PID  uint32            `json:"pid"`
	Tag  string            `json:"tag,omitempty"`
	Cmd  string            `json:"cmd"`
	Args []string          `json:"args"`
	Envs map[string]string `json:"envs,omitempty"`
	Cwd  string            `json:"cwd,omitempty"`
}

// List returns the processes the agent started and that still run.
func (c *Commands) List(ctx context.Context) ([]ProcessInfo, error) {
	res, err := c.sb.process("").List(ctx, connect.NewRequest(&pb.ListRequest{}))
	if err != nil {
		return nil, wrap(ctx, err)
	}
	out := make([]ProcessInfo, 0, len(res.Msg.GetProcesses()))
	for _, p := range res.Msg.GetProcesses() {
		cfg := p.GetConfig()
		out = append(out, ProcessInfo{PID: p.GetPid(), Tag: p.GetTag(), Cmd: cfg.GetCmd(), Args: cfg.GetArgs(), Envs: cfg.GetEnvs(), Cwd: cfg.GetCwd()})
	}
	return out, nil
}

func pidSelector(pid uint32) *pb.ProcessSelector {
	return &pb.ProcessSelector{Selector: &pb.ProcessSelector_Pid{Pid: pid}}
}

// Kill sends SIGKILL to process pid.
func (c *Commands) Kill(ctx context.Context, pid uint32) error {
	return c.Signal(ctx, pid, SIGKILL)
}

// Signal sends sig to process pid.
func (c *Commands) Signal(ctx context.Context, pid uint32, sig Signal) error {
	return signal(ctx, c.sb.process(""), pid, sig)
}

func signal(ctx context.Context, proc processconnect.ProcessClient, pid uint32, sig Signal) error {
	var s pb.Signal
	switch sig {
	case SIGTERM:
		s = pb.Signal_SIGNAL_SIGTERM
	case SIGKILL:
		s = pb.Signal_SIGNAL_SIGKILL
	default:
		return &Error{kind: ErrInvalidArgument, Message: "signal " + strconv.Itoa(int(sig)) + ": the sandbox takes SIGTERM or SIGKILL"}
	}
	_, err := proc.SendSignal(ctx, connect.NewRequest(&pb.SendSignalRequest{Process: pidSelector(pid), Signal: s}))
	return wrap(ctx, err)
}

// SendStdin writes data to the stdin of process pid (started with
// OpenStdin).
func (c *Commands) SendStdin(ctx context.Context, pid uint32, data []byte) error {
	return sendStdin(ctx, c.sb.process(""), pid, data)
}

func sendStdin(ctx context.Context, proc processconnect.ProcessClient, pid uint32, data []byte) error {
	in := &pb.ProcessInput{Input: &pb.ProcessInput_Stdin{Stdin: data}}
	_, err := proc.SendInput(ctx, connect.NewRequest(&pb.SendInputRequest{Process: pidSelector(pid), Input: in}))
	return wrap(ctx, err)
}

// CloseStdin closes the stdin of process pid: it reads end of file.
func (c *Commands) CloseStdin(ctx context.Context, pid uint32) error {
	_, err := c.sb.process("").CloseStdin(ctx, connect.NewRequest(&pb.CloseStdinRequest{Process: pidSelector(pid)}))
	return wrap(ctx, err)
}

// Connect attaches to a running process: its output from now on goes to
// o's writers and callbacks, and Wait returns when it ends. Cancelling ctx
// detaches without killing the process (it was not started here).
func (c *Commands) Connect(ctx context.Context, pid uint32, o *RunOptions) (*CommandHandle, error) {
	if o == nil {
		o = &RunOptions{}
	}
	proc := c.sb.process("")
	sctx, cancel := context.WithCancel(ctx)
	stream, err := proc.Connect(sctx, connect.NewRequest(&pb.ConnectRequest{Process: pidSelector(pid)}))
	if err != nil {
		cancel()
		return nil, wrap(ctx, err)
	}
	if !stream.Receive() {
		cancel()
		stream.Close()
		return nil, wrap(ctx, streamErr(stream.Err()))
	}
	h := newHandle(c.sb, proc, pid, o, cancel)
	h.attached = true
	// The stream runs under ctx: when ctx ends, the stream may end
	// before watch has recorded why, and Wait must still say it was ctx.
	h.ctxEnded = func() error {
		if ctx.Err() == nil {
			return nil
		}
		return ctxError(ctx)
	}
	go pump(h, stream)
	go h.watch(ctx)
	return h, nil
}

// CommandHandle is a command running in the sandbox.
type CommandHandle struct {
	// PID is the process's id in the sandbox.
	PID uint32

	sb     *Sandbox
	proc   processconnect.ProcessClient
	o      RunOptions
	cancel context.CancelFunc // ends the stream
	done   chan struct{}

	mu             sync.Mutex
	stdout, stderr bytes.Buffer
	result         *CommandResult
	err            error
	ctxErr         error        // the context ended first; the command was killed
	attached       bool         // made by Connect: the context's end detaches
	ctxEnded       func() error // of Connect: why its context ended, or nil
	detached       bool
}

func newHandle(sb *Sandbox, proc processconnect.ProcessClient, pid uint32, o *RunOptions, cancel context.CancelFunc) *CommandHandle {
	return &CommandHandle{PID: pid, sb: sb, proc: proc, o: *o, cancel: cancel, done: make(chan struct{})}
}

// stream is what Start and Connect stream.
type stream[T interface{ GetEvent() *pb.ProcessEvent }] interface {
	Receive() bool
	Msg() T
	Err() error
	Close() error
}

func pump[T interface{ GetEvent() *pb.ProcessEvent }](h *CommandHandle, s stream[T]) {
	defer close(h.done)
	defer h.cancel()
	defer s.Close()
	for s.Receive() {
		switch ev := s.Msg().GetEvent().GetEvent().(type) {
		case *pb.ProcessEvent_Data:
			h.output(ev.Data)
		case *pb.ProcessEvent_End:
			h.mu.Lock()
			h.result = &CommandResult{Stdout: h.stdout.String(), Stderr: h.stderr.String(), ExitCode: int(ev.End.GetExitCode()), Status: ev.End.GetStatus(), Error: ev.End.GetError()}
			if !ev.End.GetExited() {
				h.result.ExitCode = -1
			}
			h.mu.Unlock()
			return
		}
	}
	h.mu.Lock()
	if h.detached {
		h.err = &Error{kind: ErrConflict, Message: "disconnected from the command; it still runs"}
	} else if cerr := h.endedCtx(); cerr != nil {
		if h.ctxErr == nil {
			h.ctxErr = cerr
		}
	} else {
		h.err = wrap(context.Background(), streamErr(s.Err()))
	}
	h.mu.Unlock()
}

func (h *CommandHandle) output(d *pb.ProcessEvent_DataEvent) {
	b := d.GetStdout()
	if b == nil {
		b = d.GetPty() // a terminal's output, when connected to one
	}
	if b != nil {
		h.mu.Lock()
		h.stdout.Write(b)
		h.mu.Unlock()
		if h.o.Stdout != nil {
			_, _ = h.o.Stdout.Write(b)
		}
		if h.o.OnStdout != nil {
			h.o.OnStdout(b)
		}
	}
	if b := d.GetStderr(); b != nil {
		h.mu.Lock()
		h.stderr.Write(b)
		h.mu.Unlock()
		if h.o.Stderr != nil {
			_, _ = h.o.Stderr.Write(b)
		}
		if h.o.OnStderr != nil {
			h.o.OnStderr(b)
		}
	}
}

// endedCtx is why the context of a Connect handle ended, or nil.
func (h *CommandHandle) endedCtx() error {
	if h.ctxEnded == nil {
		return nil
	}
	return h.ctxEnded()
}

// watch kills the command when ctx ends before it does (or, for a handle
// of Connect, records that the context ended).
func (h *CommandHandle) watch(ctx context.Context) {
	select {
	case <-h.done:
	case <-ctx.Done():
		h.mu.Lock()
		detached, attached := h.detached, h.attached
		if !detached {
			h.ctxErr = ctxError(ctx)
		}
		h.mu.Unlock()
		if detached || attached {
			return // the stream ends with ctx; the process runs on
		}
		kctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		_ = signal(kctx, h.proc, h.PID, SIGKILL)
		cancel()
		select {
		case <-h.done:
		case <-time.After(5 * time.Second):
			h.cancel() // the sandbox is gone or deaf: stop waiting
		}
	}
}

// feed copies r to the command's stdin, then closes it.
func (h *CommandHandle) feed(ctx context.Context, r io.Reader) {
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if sendStdin(ctx, h.proc, h.PID, append([]byte(nil), buf[:n]...)) != nil {
				return
			}
		}
		if err != nil {
			_ = h.CloseStdin(ctx)
			return
		}
	}
}

// Wait waits for the command to end and returns its result; a non-zero
// exit code is an *ExitError holding the result too.
func (h *CommandHandle) Wait() (*CommandResult, error) {
	<-h.done
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ctxErr != nil {
		return h.result, h.ctxErr
	}
	if h.result == nil {
		if h.err == nil {
			h.err = errors.New("the command's stream ended without its result")
		}
		var e *Error
		if !errors.As(h.err, &e) && !errors.Is(h.err, context.Canceled) {
			h.err = &Error{Message: h.err.Error(), kind: ErrUnavailable, cause: h.err}
		}
		return nil, h.err
	}
	if h.result.ExitCode != 0 {
		return h.result, &ExitError{CommandResult: h.result}
	}
	return h.result, nil
}

// Done is closed when the command has ended (or the handle stopped
// watching it).
func (h *CommandHandle) Done() <-chan struct{} { return h.done }

// Kill sends SIGKILL to the command.
func (h *CommandHandle) Kill(ctx context.Context) error { return signal(ctx, h.proc, h.PID, SIGKILL) }

// Signal sends sig to the command.
func (h *CommandHandle) Signal(ctx context.Context, sig Signal) error {
	return signal(ctx, h.proc, h.PID, sig)
}

// SendStdin writes data to the command's stdin (started with OpenStdin).
func (h *CommandHandle) SendStdin(ctx context.Context, data []byte) error {
	return sendStdin(ctx, h.proc, h.PID, data)
}

// CloseStdin closes the command's stdin.
func (h *CommandHandle) CloseStdin(ctx context.Context) error {
	_, err := h.proc.CloseStdin(ctx, connect.NewRequest(&pb.CloseStdinRequest{Process: pidSelector(h.PID)}))
	return wrap(ctx, err)
}

// Disconnect stops watching the command and leaves it running; Wait then
// returns an ErrConflict error. Commands.Connect attaches again.
func (h *CommandHandle) Disconnect() {
	h.mu.Lock()
	h.detached = true
	h.mu.Unlock()
	h.cancel()
	<-h.done
}
