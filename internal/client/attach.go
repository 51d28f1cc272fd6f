package client

import (
	"context"
	"io"
	"strings"

	"connectrpc.com/connect"

	pb "github.com/soulbox/soulbox/api/envd/process"
	"github.com/soulbox/soulbox/api/envd/process/processconnect"
)

// Attach streams the output of a running process from now on until it
// ends, and returns its exit code (-1 when killed by a signal).
func (c *Client) Attach(ctx context.Context, sb Sandbox, pid uint32, stdout, stderr io.Writer) (int, error) {
	proc := processconnect.NewProcessClient(c.http(), strings.TrimRight(c.BaseURL, "/"), connect.WithInterceptors(c.sandboxHeaders(sb, "")))
	stream, err := proc.Connect(ctx, connect.NewRequest(&pb.ConnectRequest{Process: &pb.ProcessSelector{Selector: &pb.ProcessSelector_Pid{Pid: pid}}}))
	if err != nil {
		return 0, err
	}
	defer stream.Close()
	for stream.Receive() {
		switch ev := stream.Msg().GetEvent().GetEvent().(type) {
		case *pb.ProcessEvent_Data:
			d := ev.Data
			switch {
			case d.GetStdout() != nil:
				_, _ = stdout.Write(d.GetStdout())
			case d.GetStderr() != nil:
				_, _ = stderr.Write(d.GetStderr())
			case d.GetPty() != nil:
				_, _ = stdout.Write(d.GetPty())
			}
		case *pb.ProcessEvent_End:
			if !ev.End.GetExited() {
				return -1, nil
			}
			return int(ev.End.GetExitCode()), nil
		}
	}
	return 0, streamErr(stream.Err())
}
