package nodeservice

import (
	"context"
	"errors"
	"fmt"
	"io"

	"connectrpc.com/connect"

	nodev1 "github.com/soulbox/soulbox/api/node/v1"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/runtime"
)

// dialBuffer is the most bytes one frame from the sandbox carries.
const dialBuffer = 32 << 10

// Dial implements the service: the first frame names the sandbox and
// port; once connected an empty frame says so, and then bytes flow both
// ways. The client's end of stream half-closes the connection; the
// client going away closes it; the sandbox's side ending (it closed, or
// half-closed, the connection) ends the response and the connection.
func (s *Service) Dial(ctx context.Context, stream *connect.BidiStream[nodev1.DialFrame, nodev1.DialFrame]) error {
	d, ok := s.d.(runtime.Dialer)
	if !ok {
		return errdefs.ToConnect(fmt.Errorf("driver %s cannot dial into sandboxes: %w", s.d.Name(), errdefs.ErrFailedPrecondition))
	}
	first, err := stream.Receive()
	if err != nil {
		return err
	}
	if first.GetPort() <= 0 || first.GetPort() > 65535 {
		return errdefs.ToConnect(fmt.Errorf("port %d: want 1 to 65535: %w", first.GetPort(), errdefs.ErrInvalidArgument))
	}
	conn, err := d.DialContext(ctx, first.GetId(), int(first.GetPort()))
	if err != nil {
		return errdefs.ToConnect(err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if err := stream.Send(&nodev1.DialFrame{}); err != nil {
		return err
	}
	if len(first.GetData()) > 0 {
		if _, err := conn.Write(first.GetData()); err != nil {
			return nil
		}
	}
	fromSandbox := make(chan error, 1)
	go func() {
		buf := make([]byte, dialBuffer)
		for {
			n, err := conn.Read(buf)
			if n > 0 {
				if serr := stream.Send(&nodev1.DialFrame{Data: buf[:n]}); serr != nil {
					conn.Close()
					fromSandbox <- serr
					return
				}
			}
			if err != nil {
				fromSandbox <- nil // the sandbox's side ended: the response ends
				return
			}
		}
	}()
	// The client's frames go to the sandbox until it ends its side (the
	// sandbox's side half-closes) or the stream ends. The handler returns
	// as soon as the sandbox's side ends, which ends the response, and
	// the server then ends the request, so this returns too.
	go func() {
		for {
			f, err := stream.Receive()
			if errors.Is(err, io.EOF) {
				if cw, ok := conn.(interface{ CloseWrite() error }); ok {
					_ = cw.CloseWrite()
				} else {
					conn.Close()
				}
				return
			}
			if err != nil {
				conn.Close()
				return
			}
			if _, err := conn.Write(f.GetData()); err != nil {
				conn.Close()
				return
			}
		}
	}()
	return <-fromSandbox
}
