package process

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"connectrpc.com/connect"

	pb "github.com/soulbox/soulbox/api/envd/process"
	"github.com/soulbox/soulbox/api/envd/process/processconnect"
	"github.com/soulbox/soulbox/internal/agent/state"
	"github.com/soulbox/soulbox/internal/envd"
	"github.com/soulbox/soulbox/internal/errdefs"
)

var _ processconnect.ProcessHandler = (*Service)(nil)

// Service is envd's Process service over a Manager.
type Service struct {
	m     *Manager
	state *state.State
	log   *slog.Logger
	// Keepalive is how often an idle stream gets a keepalive event, so
	// that proxies between the client and the agent keep it open.
	Keepalive time.Duration
}

// NewService returns the service; mount it with Handler.
func NewService(m *Manager, st *state.State, log *slog.Logger) *Service {
	return &Service{m: m, state: st, log: log, Keepalive: 30 * time.Second}
}

// Handler returns the path prefix and handler to mount. Messages under
// envd.CompressMinBytes are sent uncompressed; opts come after and may
// change that.
func (s *Service) Handler(opts ...connect.HandlerOption) (string, http.Handler) {
	opts = append([]connect.HandlerOption{connect.WithCompressMinBytes(envd.CompressMinBytes)}, opts...)
	return processconnect.NewProcessHandler(s, opts...)
}

// selectProc finds the process a selector names.
func (s *Service) selectProc(sel *pb.ProcessSelector) (*Proc, error) {
	if sel == nil {
		return nil, connect.NewError(connect.CodeInvalidArgument, errors.New("process selector (pid or tag) is required"))
	}
	switch sel.GetSelector().(type) {
	case *pb.ProcessSelector_Pid:
		p, err := s.m.Get(int(sel.GetPid()), "")
		return p, connectError(err)
	case *pb.ProcessSelector_Tag:
		if sel.GetTag() == "" {
			return nil, connect.NewError(connect.CodeInvalidArgument, errors.New("process tag is empty"))
		}
		p, err := s.m.Get(0, sel.GetTag())
		return p, connectError(err)
	default:
		return nil, connect.NewError(connect.CodeInvalidArgument, errors.New("process selector needs a pid or a tag"))
	}
}

// connectError maps the manager's and the user lookup's errors to Connect
// codes; the message says what to fix.
func connectError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrNotFound), errors.Is(err, errdefs.ErrNotFound):
		return connect.NewError(connect.CodeNotFound, err)
	case errors.Is(err, ErrInvalid), errors.Is(err, errdefs.ErrInvalidArgument):
		return connect.NewError(connect.CodeInvalidArgument, err)
	case errors.Is(err, ErrLimit), errors.Is(err, errdefs.ErrResourceExhausted):
		return connect.NewError(connect.CodeResourceExhausted, err)
	default:
		return connect.NewError(connect.CodeInternal, err)
	}
}

// stream sends the events of p to send until p ends or ctx is done. A
// deadline (the client's Connect-Timeout-Ms) kills the process: that is
// what a command timeout means. A cancellation (the client went away)
// leaves it running.
func (s *Service) stream(ctx context.Context, h http.Header, p *Proc, events <-chan Event, send func(*pb.ProcessEvent) error) error {
	every := keepaliveInterval(h, s.Keepalive)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				return nil
			}
			if err := send(toEvent(ev)); err != nil {
				return err
			}
			if ev.End != nil {
				return nil
			}
			tick.Reset(every)
		case <-tick.C:
			if err := send(&pb.ProcessEvent{Event: &pb.ProcessEvent_Keepalive{Keepalive: &pb.ProcessEvent_KeepAlive{}}}); err != nil {
				return err
			}
		case <-ctx.Done():
			if timedOut(ctx) {
				s.log.Info("process timed out, killing it", "pid", p.Pid)
				_ = p.Signal(sigkill)
				return connect.NewError(connect.CodeDeadlineExceeded, errors.New("command timed out and was killed"))
			}
			return connect.NewError(connect.CodeCanceled, ctx.Err())
		}
	}
}

// timedOut reports whether the stream ended because its deadline passed.
// A client that enforces the same timeout itself (the SDKs do) may hang up
// a moment before the server's deadline fires; the context then says
// canceled, but the deadline is what ended it.
func timedOut(ctx context.Context) bool {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return true
	}
	dl, ok := ctx.Deadline()
	return ok && time.Until(dl) < deadlineSlack
}

// deadlineSlack is how close to its deadline a hang-up counts as a timeout.
const deadlineSlack = 500 * time.Millisecond

// keepaliveInterval is the client's Keepalive-Ping-Interval (seconds, as
// E2B's SDKs send it), else the default.
func keepaliveInterval(h http.Header, def time.Duration) time.Duration {
	if n, err := strconv.Atoi(h.Get("Keepalive-Ping-Interval")); err == nil && n > 0 && n <= 3600 {
		return time.Duration(n) * time.Second
	}
	return def
}

func toEvent(ev Event) *pb.ProcessEvent {
	if ev.End != nil {
		end := &pb.ProcessEvent_EndEvent{ExitCode: int32(ev.End.Code), Exited: ev.End.Exited, Status: ev.End.Status}
		return &pb.ProcessEvent{Event: &pb.ProcessEvent_End{End: end}}
	}
	data := &pb.ProcessEvent_DataEvent{}
	switch ev.Stream {
	case Stdout:
		data.Output = &pb.ProcessEvent_DataEvent_Stdout{Stdout: ev.Data}
	case Stderr:
		data.Output = &pb.ProcessEvent_DataEvent_Stderr{Stderr: ev.Data}
	default:
		data.Output = &pb.ProcessEvent_DataEvent_Pty{Pty: ev.Data}
	}
	return &pb.ProcessEvent{Event: &pb.ProcessEvent_Data{Data: data}}
}

func startEvent(pid int) *pb.ProcessEvent {
	return &pb.ProcessEvent{Event: &pb.ProcessEvent_Start{Start: &pb.ProcessEvent_StartEvent{Pid: uint32(pid)}}}
}
