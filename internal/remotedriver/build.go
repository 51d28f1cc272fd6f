package remotedriver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"connectrpc.com/connect"

	nodev1 "github.com/soulbox/soulbox/api/node/v1"
	"github.com/soulbox/soulbox/internal/builder"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/nodebuild"
)

var _ nodebuild.Runner = (*Driver)(nil)

// Build runs a template build on the node (nodebuild.Runner): its log
// lines go to log as the node sends them, and the node's outcome is
// returned. A node that sends nothing, not even its keepalive, for
// nodebuild.Silence is given up; a node that dies ends the stream, and
// the build, with the error.
func (d *Driver) Build(ctx context.Context, req nodebuild.Request, log builder.Log) (nodebuild.Outcome, error) {
	raw, err := json.Marshal(req)
	if err != nil {
		return nodebuild.Outcome{}, fmt.Errorf("build %s request: %v: %w", req.ID, err, errdefs.ErrInvalidArgument)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	silent := time.AfterFunc(nodebuild.Silence, func() {
		cancel(fmt.Errorf("node %s sent nothing for %v during the build (is its host gone?): %w", d.node, nodebuild.Silence, errdefs.ErrUnavailable))
	})
	defer silent.Stop()
	stream, err := d.c.Build(ctx, connect.NewRequest(&nodev1.BuildRequest{RequestJson: raw}))
	if err != nil {
		return nodebuild.Outcome{}, d.buildErr(ctx, err)
	}
	defer stream.Close()
	for stream.Receive() {
		silent.Reset(nodebuild.Silence)
		ev := stream.Msg()
		if o := ev.GetOutcomeJson(); len(o) > 0 {
			var out nodebuild.Outcome
			if err := json.Unmarshal(o, &out); err != nil {
				return nodebuild.Outcome{}, fmt.Errorf("node %s answered the build with an outcome that does not decode: %v: %w", d.node, err, errdefs.ErrUnavailable)
			}
			return out, nil
		}
		if ev.GetMessage() != "" || ev.GetStep() != "" {
			log(ev.GetLevel(), ev.GetStep(), ev.GetMessage())
		}
	}
	if err := stream.Err(); err != nil {
		return nodebuild.Outcome{}, d.buildErr(ctx, err)
	}
	return nodebuild.Outcome{}, fmt.Errorf("node %s ended the build's stream without its outcome: %w", d.node, errdefs.ErrUnavailable)
}

// buildErr is a build stream's error: the silence that cut it, when it
// did, else the node's.
func (d *Driver) buildErr(ctx context.Context, err error) error {
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		return cause
	}
	return d.wireErr(err)
}
