package nodeservice

import (
	"bytes"
	"context"
	"fmt"

	"connectrpc.com/connect"

	nodev1 "github.com/soulbox/soulbox/api/node/v1"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/runtime"
)

// Exec implements the service: the process's input is the request's,
// its output is kept (each stream up to MaxMessageBytes, both fitting
// in MaxWireBytes) and returned when it ends; more is
// ErrFailedPrecondition.
func (s *Service) Exec(ctx context.Context, req *connect.Request[nodev1.ExecRequest]) (*connect.Response[nodev1.ExecResponse], error) {
	m := req.Msg
	var stdout, stderr cappedBuffer
	r := runtime.ExecRequest{Args: m.GetArgs(), Env: m.GetEnv(), Cwd: m.GetCwd(), User: m.GetUser(), Stdout: &stdout, Stderr: &stderr}
	if len(m.GetStdin()) > 0 {
		r.Stdin = bytes.NewReader(m.GetStdin())
	}
	res, err := s.d.Exec(ctx, m.GetId(), r)
	if err != nil {
		return nil, errdefs.ToConnect(err)
	}
	// Too much output is the command's doing, not a busy node: retrying
	// does not help (ResourceExhausted would read as "retry").
	if stdout.over || stderr.over {
		return nil, errdefs.ToConnect(fmt.Errorf("sandbox %q: the process exited %d but its output passed %d bytes: %w", m.GetId(), res.ExitCode, MaxMessageBytes, errdefs.ErrFailedPrecondition))
	}
	return connect.NewResponse(&nodev1.ExecResponse{ExitCode: int64(res.ExitCode), Stdout: stdout.b.Bytes(), Stderr: stderr.b.Bytes()}), nil
}

// cappedBuffer keeps up to MaxMessageBytes and notes that more came.
type cappedBuffer struct {
	b    bytes.Buffer
	over bool
}

func (c *cappedBuffer) Write(p []byte) (int, error) {
	if room := MaxMessageBytes - c.b.Len(); len(p) > room {
		c.over = true
		c.b.Write(p[:max(room, 0)])
		return len(p), nil
	}
	return c.b.Write(p)
}
