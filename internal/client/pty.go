package client

import (
	"context"
	"errors"
	"io"
	"strings"

	"connectrpc.com/connect"

	pb "github.com/soulbox/soulbox/api/envd/process"
	"github.com/soulbox/soulbox/api/envd/process/processconnect"
)

// Terminal is an interactive shell on a PTY in a sandbox.
type Terminal struct {
	proc   processconnect.ProcessClient
	stream *connect.ServerStreamForClient[pb.StartResponse]
	sel    *pb.ProcessSelector
}

// OpenTerminal starts a login shell on a new terminal of cols x rows, as
// the SDKs' pty.create does.
func (c *Client) OpenTerminal(ctx context.Context, sb Sandbox, cols, rows uint32, term string) (*Terminal, error) {
	if term == "" {
		term = "xterm-256color"
	}
	proc := processconnect.NewProcessClient(c.http(), strings.TrimRight(c.BaseURL, "/"), connect.WithInterceptors(c.sandboxHeaders(sb, "")))
	stream, err := proc.Start(ctx, connect.NewRequest(&pb.StartRequest{
		Process: &pb.ProcessConfig{Cmd: "/bin/bash", Args: []string{"-i", "-l"}, Envs: map[string]string{"TERM": term, "LANG": "C.UTF-8"}},
		Pty:     &pb.PTY{Size: &pb.PTY_Size{Cols: cols, Rows: rows}},
	}))
	if err != nil {
		return nil, err
	}
	if !stream.Receive() {
		stream.Close()
		return nil, streamErr(stream.Err())
	}
	pid := stream.Msg().GetEvent().GetStart().GetPid()
	return &Terminal{proc: proc, stream: stream, sel: &pb.ProcessSelector{Selector: &pb.ProcessSelector_Pid{Pid: pid}}}, nil
}

// Input types into the terminal.
func (t *Terminal) Input(ctx context.Context, b []byte) error {
	_, err := t.proc.SendInput(ctx, connect.NewRequest(&pb.SendInputRequest{Process: t.sel, Input: &pb.ProcessInput{Input: &pb.ProcessInput_Pty{Pty: b}}}))
	return err
}

// Resize changes the terminal's size.
func (t *Terminal) Resize(ctx context.Context, cols, rows uint32) error {
	_, err := t.proc.Update(ctx, connect.NewRequest(&pb.UpdateRequest{Process: t.sel, Pty: &pb.PTY{Size: &pb.PTY_Size{Cols: cols, Rows: rows}}}))
	return err
}

// Copy writes the terminal's output to w until the shell ends, and returns
// its exit code.
func (t *Terminal) Copy(w io.Writer) (int, error) {
	defer t.stream.Close()
	for t.stream.Receive() {
		switch ev := t.stream.Msg().GetEvent().GetEvent().(type) {
		case *pb.ProcessEvent_Data:
			if _, err := w.Write(ev.Data.GetPty()); err != nil {
				return 0, err
			}
		case *pb.ProcessEvent_End:
			if !ev.End.GetExited() {
				return -1, nil
			}
			return int(ev.End.GetExitCode()), nil
		}
	}
	if err := t.stream.Err(); err != nil {
		return 0, err
	}
	return 0, errors.New("the terminal closed before the shell ended")
}
