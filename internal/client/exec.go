package client

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"connectrpc.com/connect"

	pb "github.com/soulbox/soulbox/api/envd/process"
	"github.com/soulbox/soulbox/api/envd/process/processconnect"
	"github.com/soulbox/soulbox/internal/envd"
)

// ExecOptions say how to run a command in a sandbox.
type ExecOptions struct {
	User   string // default: the sandbox's default user
	Cwd    string
	Env    map[string]string
	Stdin  io.Reader // nil: no stdin
	Stdout io.Writer
	Stderr io.Writer
}

// Exec runs argv in sandbox sb (its token from Get or Create), streaming
// its output, and returns its exit code (-1 when killed by a signal).
func (c *Client) Exec(ctx context.Context, sb Sandbox, argv []string, o ExecOptions) (int, error) {
	if len(argv) == 0 {
		return 0, errors.New("no command to run")
	}
	proc := processconnect.NewProcessClient(c.http(), strings.TrimRight(c.BaseURL, "/"), connect.WithInterceptors(c.sandboxHeaders(sb, o.User)))
	stdin := o.Stdin != nil
	req := &pb.StartRequest{Process: &pb.ProcessConfig{Cmd: argv[0], Args: argv[1:], Envs: o.Env}, Stdin: &stdin}
	if o.Cwd != "" {
		req.Process.Cwd = &o.Cwd
	}
	stream, err := proc.Start(ctx, connect.NewRequest(req))
	if err != nil {
		return 0, err
	}
	defer stream.Close()
	if !stream.Receive() {
		return 0, streamErr(stream.Err())
	}
	sel := &pb.ProcessSelector{Selector: &pb.ProcessSelector_Pid{Pid: stream.Msg().GetEvent().GetStart().GetPid()}}
	if stdin {
		go feed(ctx, proc, sel, o.Stdin)
	}
	for stream.Receive() {
		switch ev := stream.Msg().GetEvent().GetEvent().(type) {
		case *pb.ProcessEvent_Data:
			if w := o.Stdout; w != nil && ev.Data.GetStdout() != nil {
				_, _ = w.Write(ev.Data.GetStdout())
			}
			if w := o.Stderr; w != nil && ev.Data.GetStderr() != nil {
				_, _ = w.Write(ev.Data.GetStderr())
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

// feed copies r to the process's stdin, then closes it.
func feed(ctx context.Context, proc processconnect.ProcessClient, sel *pb.ProcessSelector, r io.Reader) {
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			in := &pb.ProcessInput{Input: &pb.ProcessInput_Stdin{Stdin: append([]byte(nil), buf[:n]...)}}
			if _, serr := proc.SendInput(ctx, connect.NewRequest(&pb.SendInputRequest{Process: sel, Input: in})); serr != nil {
				return
			}
		}
		if err != nil {
			_, _ = proc.CloseStdin(ctx, connect.NewRequest(&pb.CloseStdinRequest{Process: sel}))
			return
		}
	}
}

func streamErr(err error) error {
	if err == nil {
		return errors.New("the sandbox closed the stream before the command ended")
	}
	return err
}

// sandboxHeaders routes requests to sb through the server's proxy, with its
// access token and the user, as the E2B SDKs do.
func (c *Client) sandboxHeaders(sb Sandbox, user string) connect.Interceptor {
	return headerInterceptor(func(h http.Header) {
		h.Set("E2b-Sandbox-Id", sb.SandboxID)
		h.Set("E2b-Sandbox-Port", strconv.Itoa(envd.Port))
		if sb.EnvdAccessToken != "" {
			h.Set("X-Access-Token", sb.EnvdAccessToken)
		}
		if user != "" {
			h.Set("Authorization", basicUser(user))
		}
	})
}
