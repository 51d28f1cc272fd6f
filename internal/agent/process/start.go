package process

import (
	"context"
	"errors"
	"fmt"
	"time"

	"connectrpc.com/connect"

	pb "github.com/soulbox/soulbox/api/envd/process"
	"github.com/soulbox/soulbox/internal/agent/timing"
)

// Start starts a process and streams its events: start first, then its
// output as it is produced, then its end.
func (s *Service) Start(ctx context.Context, req *connect.Request[pb.StartRequest], stream *connect.ServerStream[pb.StartResponse]) error {
	msg := req.Msg
	pc := msg.GetProcess()
	if pc == nil || pc.GetCmd() == "" {
		return connect.NewError(connect.CodeInvalidArgument, errors.New("process.cmd is required"))
	}
	user, err := s.state.RequestUser(req.Header())
	if err != nil {
		return connect.NewError(connect.CodeInvalidArgument, err)
	}
	cfg := Config{
		Cmd: pc.GetCmd(), Args: pc.GetArgs(), Env: pc.GetEnvs(), Cwd: pc.GetCwd(), User: user,
		Tag: msg.GetTag(),
		// Absent means open: the SDK sends stdin=false to close it.
		Stdin: msg.Stdin == nil || msg.GetStdin(),
	}
	if cfg.Cwd == "" {
		cfg.Cwd = s.state.Workdir()
	}
	if msg.Pty != nil {
		size := msg.GetPty().GetSize()
		if size.GetCols() > 65535 || size.GetRows() > 65535 {
			return connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("terminal size %dx%d: use at most 65535 columns and rows", size.GetCols(), size.GetRows()))
		}
		cfg.PTY = &Size{Cols: uint16(size.GetCols()), Rows: uint16(size.GetRows())}
	}
	began := time.Now()
	p, ready, err := s.m.Start(cfg)
	if err != nil {
		return connectError(err)
	}
	if timing.Traced(req.Header()) {
		// Sent with the start event: the caller's span of this call
		// gets the start as a child.
		timing.Add(stream.ResponseHeader(), timing.ProcessStart, began, time.Now())
	}
	events, leave := p.Subscribe()
	defer leave()
	ready()
	// A client gone before the start event (a deadline that passed while
	// the request was on its way) never learns the pid: nothing could
	// signal, connect to or wait for the process, so it goes now rather
	// than run on unseen. After the start event a hang-up leaves it
	// running, as the SDKs' disconnect expects.
	if err := ctx.Err(); err != nil {
		_ = p.Signal(sigkill)
		return connect.NewError(connect.CodeCanceled, err)
	}
	send := func(ev *pb.ProcessEvent) error { return stream.Send(&pb.StartResponse{Event: ev}) }
	if err := send(startEvent(p.Pid)); err != nil {
		_ = p.Signal(sigkill)
		return err
	}
	return s.stream(ctx, req.Header(), p, events, send)
}

// Connect streams the events of a running process from now on.
func (s *Service) Connect(ctx context.Context, req *connect.Request[pb.ConnectRequest], stream *connect.ServerStream[pb.ConnectResponse]) error {
	p, err := s.selectProc(req.Msg.GetProcess())
	if err != nil {
		return err
	}
	events, leave := p.Subscribe()
	defer leave()
	send := func(ev *pb.ProcessEvent) error { return stream.Send(&pb.ConnectResponse{Event: ev}) }
	if err := send(startEvent(p.Pid)); err != nil {
		return err
	}
	return s.stream(ctx, req.Header(), p, events, send)
}
