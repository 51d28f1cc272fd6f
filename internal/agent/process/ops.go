package process

import (
	"context"
	"errors"
	"fmt"

	"connectrpc.com/connect"
	"golang.org/x/sys/unix"

	pb "github.com/soulbox/soulbox/api/envd/process"
)

const sigkill = unix.SIGKILL

// List returns the running processes.
func (s *Service) List(_ context.Context, _ *connect.Request[pb.ListRequest]) (*connect.Response[pb.ListResponse], error) {
	res := &pb.ListResponse{}
	for _, p := range s.m.List() {
		info := &pb.ProcessInfo{
			Pid: uint32(p.Pid),
			Config: &pb.ProcessConfig{
				Cmd: p.Config.Cmd, Args: p.Config.Args, Envs: p.Config.Env,
			},
		}
		if p.Config.Cwd != "" {
			info.Config.Cwd = &p.Config.Cwd
		}
		if p.Tag != "" {
			info.Tag = &p.Tag
		}
		res.Processes = append(res.Processes, info)
	}
	return connect.NewResponse(res), nil
}

// SendInput writes to a process's stdin or terminal.
func (s *Service) SendInput(_ context.Context, req *connect.Request[pb.SendInputRequest]) (*connect.Response[pb.SendInputResponse], error) {
	p, err := s.selectProc(req.Msg.GetProcess())
	if err != nil {
		return nil, err
	}
	if err := writeInput(p, req.Msg.GetInput()); err != nil {
		return nil, err
	}
	return connect.NewResponse(&pb.SendInputResponse{}), nil
}

// StreamInput takes a start event naming the process, then input.
func (s *Service) StreamInput(_ context.Context, stream *connect.ClientStream[pb.StreamInputRequest]) (*connect.Response[pb.StreamInputResponse], error) {
	var p *Proc
	for stream.Receive() {
		switch ev := stream.Msg().GetEvent().(type) {
		case *pb.StreamInputRequest_Start:
			found, err := s.selectProc(ev.Start.GetProcess())
			if err != nil {
				return nil, err
			}
			p = found
		case *pb.StreamInputRequest_Data:
			if p == nil {
				return nil, connect.NewError(connect.CodeFailedPrecondition, errors.New("send the start event naming the process before input"))
			}
			if err := writeInput(p, ev.Data.GetInput()); err != nil {
				return nil, err
			}
		case *pb.StreamInputRequest_Keepalive:
		}
	}
	if err := stream.Err(); err != nil {
		return nil, err
	}
	return connect.NewResponse(&pb.StreamInputResponse{}), nil
}

func writeInput(p *Proc, in *pb.ProcessInput) error {
	var err error
	switch in.GetInput().(type) {
	case *pb.ProcessInput_Stdin:
		err = p.WriteStdin(in.GetStdin(), false)
	case *pb.ProcessInput_Pty:
		err = p.WriteStdin(in.GetPty(), true)
	default:
		return connect.NewError(connect.CodeInvalidArgument, errors.New("input needs stdin or pty bytes"))
	}
	return connectError(err)
}

// CloseStdin closes a process's stdin.
func (s *Service) CloseStdin(_ context.Context, req *connect.Request[pb.CloseStdinRequest]) (*connect.Response[pb.CloseStdinResponse], error) {
	p, err := s.selectProc(req.Msg.GetProcess())
	if err != nil {
		return nil, err
	}
	if err := p.CloseStdin(); err != nil {
		return nil, connectError(err)
	}
	return connect.NewResponse(&pb.CloseStdinResponse{}), nil
}

// SendSignal sends SIGTERM or SIGKILL to a process and its group.
func (s *Service) SendSignal(_ context.Context, req *connect.Request[pb.SendSignalRequest]) (*connect.Response[pb.SendSignalResponse], error) {
	p, err := s.selectProc(req.Msg.GetProcess())
	if err != nil {
		return nil, err
	}
	var sig unix.Signal
	switch req.Msg.GetSignal() {
	case pb.Signal_SIGNAL_SIGKILL:
		sig = unix.SIGKILL
	case pb.Signal_SIGNAL_SIGTERM:
		sig = unix.SIGTERM
	default:
		return nil, connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("signal %v: use SIGNAL_SIGTERM or SIGNAL_SIGKILL", req.Msg.GetSignal()))
	}
	if err := p.Signal(sig); err != nil {
		return nil, connectError(err)
	}
	return connect.NewResponse(&pb.SendSignalResponse{}), nil
}

// Update resizes a process's terminal.
func (s *Service) Update(_ context.Context, req *connect.Request[pb.UpdateRequest]) (*connect.Response[pb.UpdateResponse], error) {
	p, err := s.selectProc(req.Msg.GetProcess())
	if err != nil {
		return nil, err
	}
	if req.Msg.Pty != nil {
		size := req.Msg.GetPty().GetSize()
		if size.GetCols() == 0 || size.GetRows() == 0 || size.GetCols() > 65535 || size.GetRows() > 65535 {
			return nil, connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("terminal size %dx%d: use 1-65535 columns and rows", size.GetCols(), size.GetRows()))
		}
		if err := p.Resize(uint16(size.GetCols()), uint16(size.GetRows())); err != nil {
			return nil, connectError(err)
		}
	}
	return connect.NewResponse(&pb.UpdateResponse{}), nil
}
