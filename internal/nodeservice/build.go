package nodeservice

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"connectrpc.com/connect"

	nodev1 "github.com/soulbox/soulbox/api/node/v1"
	"github.com/soulbox/soulbox/internal/builder"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/nodebuild"
)

// Builder runs template builds on the node (nodebuild.Node).
type Builder interface {
	Build(ctx context.Context, req nodebuild.Request, log builder.Log) (nodebuild.Outcome, error)
}

// WithBuilder serves template builds on b: a node without one (no
// object storage for the layers) refuses them.
func (s *Service) WithBuilder(b Builder) *Service {
	s.builder = b
	return s
}

// buildLine is a log line of a build on its way to the stream.
type buildLine struct{ level, step, message string }

// Build implements the service: the build runs while its log lines go
// out on the stream, with a keepalive when it says nothing, then its
// outcome. The control plane going away cancels the build, which stops
// its build sandbox.
func (s *Service) Build(ctx context.Context, req *connect.Request[nodev1.BuildRequest], stream *connect.ServerStream[nodev1.BuildEvent]) error {
	if s.builder == nil {
		return errdefs.ToConnect(fmt.Errorf("node %s builds no templates: it has no object storage to upload their layers to (start it with --s3-endpoint): %w", s.node, errdefs.ErrUnavailable))
	}
	var r nodebuild.Request
	if err := json.Unmarshal(req.Msg.GetRequestJson(), &r); err != nil {
		return errdefs.ToConnect(fmt.Errorf("the build request does not decode: %v: %w", err, errdefs.ErrInvalidArgument))
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	lines := make(chan buildLine, 64)
	type result struct {
		out nodebuild.Outcome
		err error
	}
	done := make(chan result, 1)
	go func() {
		out, err := s.builder.Build(ctx, r, func(level, step, message string) {
			select {
			case lines <- buildLine{level, step, message}:
			case <-ctx.Done():
			}
		})
		done <- result{out, err}
	}()
	tick := time.NewTicker(nodebuild.KeepAlive)
	defer tick.Stop()
	send := func(ev *nodev1.BuildEvent) error {
		if err := stream.Send(ev); err != nil {
			cancel()
			<-done // the build stops (its sandbox too) before the call ends
			return err
		}
		return nil
	}
	for {
		select {
		case l := <-lines:
			if err := send(&nodev1.BuildEvent{Level: l.level, Step: l.step, Message: l.message}); err != nil {
				return err
			}
		case <-tick.C:
			if err := send(&nodev1.BuildEvent{}); err != nil {
				return err
			}
		case res := <-done:
			for drained := false; !drained; {
				select {
				case l := <-lines:
					if err := stream.Send(&nodev1.BuildEvent{Level: l.level, Step: l.step, Message: l.message}); err != nil {
						return err
					}
				default:
					drained = true
				}
			}
			if res.err != nil {
				return errdefs.ToConnect(res.err)
			}
			raw, err := json.Marshal(res.out)
			if err != nil {
				return errdefs.ToConnect(err)
			}
			return stream.Send(&nodev1.BuildEvent{OutcomeJson: raw})
		}
	}
}
