// Package nodeservice is the node side of the sandbox service
// (api/node/v1 SandboxService): it serves a node's runtime driver to its
// control plane, each call a driver call, with errors carrying their
// errdefs category as their Connect code. The control plane's side is
// internal/remotedriver.
package nodeservice

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"connectrpc.com/connect"

	nodev1 "github.com/soulbox/soulbox/api/node/v1"
	"github.com/soulbox/soulbox/api/node/v1/nodev1connect"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/objstore"
	"github.com/soulbox/soulbox/internal/runtime"
)

// MaxMessageBytes bounds one message either way: an exec's input or
// one of its outputs, a spec.
const MaxMessageBytes = 16 << 20

// MaxWireBytes bounds one encoded message: an exec's answer carries both
// outputs, each up to MaxMessageBytes, and the rest of its fields.
const MaxWireBytes = 2*MaxMessageBytes + 1<<20

// compressMinBytes is the smallest message the node compresses for a
// control plane that accepts gzip: the small answers that make most of
// its calls (a sandbox's info and stats) cost more CPU to compress than
// they save. Dial streams are never compressed (the control plane does
// not ask it of them).
const compressMinBytes = 1024

// HTTP/2 flow control of the service's connections. Each stream may hold
// streamWindow unread bytes, and a connection as many as all its
// streams together: a dialled sandbox that stops reading holds up only
// its own stream, never the other calls sharing its connection.
const (
	maxStreams   = 256
	streamWindow = 512 << 10
)

// HTTP2 is the flow control both ends of the service use: the node's
// http.Server and the control plane's http.Transport.
func HTTP2() *http.HTTP2Config {
	return &http.HTTP2Config{
		MaxConcurrentStreams:          maxStreams,
		MaxReceiveBufferPerStream:     streamWindow,
		MaxReceiveBufferPerConnection: maxStreams * streamWindow,
	}
}

// Service serves one driver.
type Service struct {
	d runtime.Driver

	// node and max are the node's name and bound on sandboxes
	// (WithMaxSandboxes); createMu makes creates count one at a time.
	node     string
	max      int
	createMu sync.Mutex

	// checkpoints is the node's checkpoint directory (WithCheckpoints);
	// empty: the node does not checkpoint.
	checkpoints string

	// warm is the node's warm pool (WithPool); nil: none.
	warm Warm
	// objects is the node's object storage (WithObjects), where a
	// paused sandbox's pack goes for a resume on another node; nil:
	// none. transfers holds packs and archives on their way.
	objects   *objstore.Store
	transfers string

	// dumping counts the Checkpoint calls under way per sandbox.
	dumpMu  sync.Mutex
	dumping map[string]int

	// builder runs template builds (WithBuilder); nil: none.
	builder Builder
}

var _ nodev1connect.SandboxServiceHandler = (*Service)(nil)

// New serves d; the optional abilities it has (runtime.Dialer,
// runtime.Updater, runtime.LogReader, runtime.UserKiller,
// runtime.Recreator, runtime.NetworkRepairer, and with WithCheckpoints
// runtime.Checkpointer, for pauses, and runtime.Cloner, for forks, both
// kept in the node's checkpoint directory) are served too, and the
// others' calls are ErrFailedPrecondition.
func New(d runtime.Driver) *Service { return &Service{d: d, dumping: map[string]int{}} }

// Handler is the service's path and handler.
func (s *Service) Handler() (string, http.Handler) {
	return nodev1connect.NewSandboxServiceHandler(s, connect.WithReadMaxBytes(MaxWireBytes), connect.WithSendMaxBytes(MaxWireBytes),
		connect.WithCompressMinBytes(compressMinBytes))
}

func empty() *connect.Response[nodev1.Empty] { return connect.NewResponse(&nodev1.Empty{}) }

// Name implements the service.
func (s *Service) Name(context.Context, *connect.Request[nodev1.NameRequest]) (*connect.Response[nodev1.NameResponse], error) {
	return connect.NewResponse(&nodev1.NameResponse{Name: s.d.Name()}), nil
}

// Create implements the service.
func (s *Service) Create(ctx context.Context, req *connect.Request[nodev1.CreateRequest]) (*connect.Response[nodev1.SandboxInfo], error) {
	var spec runtime.Spec
	if err := json.Unmarshal(req.Msg.GetSpecJson(), &spec); err != nil {
		return nil, errdefs.ToConnect(fmt.Errorf("the sandbox spec does not decode: %v: %w", err, errdefs.ErrInvalidArgument))
	}
	if s.max > 0 {
		s.createMu.Lock()
		defer s.createMu.Unlock()
		if err := s.admit(ctx); err != nil {
			return nil, errdefs.ToConnect(err)
		}
	}
	info, err := s.d.Create(ctx, spec)
	if err != nil {
		return nil, errdefs.ToConnect(err)
	}
	return connect.NewResponse(InfoMessage(info)), nil
}

// Start implements the service.
func (s *Service) Start(ctx context.Context, req *connect.Request[nodev1.SandboxRef]) (*connect.Response[nodev1.Empty], error) {
	return empty(), errdefs.ToConnect(s.d.Start(ctx, req.Msg.GetId()))
}

// Pause implements the service.
func (s *Service) Pause(ctx context.Context, req *connect.Request[nodev1.SandboxRef]) (*connect.Response[nodev1.Empty], error) {
	return empty(), errdefs.ToConnect(s.d.Pause(ctx, req.Msg.GetId()))
}

// Resume implements the service.
func (s *Service) Resume(ctx context.Context, req *connect.Request[nodev1.SandboxRef]) (*connect.Response[nodev1.Empty], error) {
	return empty(), errdefs.ToConnect(s.d.Resume(ctx, req.Msg.GetId()))
}

// Stop implements the service.
func (s *Service) Stop(ctx context.Context, req *connect.Request[nodev1.SandboxRef]) (*connect.Response[nodev1.Empty], error) {
	return empty(), errdefs.ToConnect(s.d.Stop(ctx, req.Msg.GetId()))
}

// Destroy implements the service.
// A destroyed sandbox's checkpoint on the node goes with it.
func (s *Service) Destroy(ctx context.Context, req *connect.Request[nodev1.SandboxRef]) (*connect.Response[nodev1.Empty], error) {
	err := s.d.Destroy(ctx, req.Msg.GetId())
	if derr := s.dropCheckpoint(req.Msg.GetId()); err == nil {
		err = derr
	}
	return empty(), errdefs.ToConnect(err)
}

// Stats implements the service.
func (s *Service) Stats(ctx context.Context, req *connect.Request[nodev1.SandboxRef]) (*connect.Response[nodev1.SandboxStats], error) {
	st, err := s.d.Stats(ctx, req.Msg.GetId())
	if err != nil {
		return nil, errdefs.ToConnect(err)
	}
	return connect.NewResponse(&nodev1.SandboxStats{
		TimestampUnixNano: st.Timestamp.UnixNano(), CpuUsageNanos: st.CPUUsageNanos, MemoryUsage: st.MemoryUsage,
		MemoryCache: st.MemoryCache, MemoryLimit: st.MemoryLimit, OomKills: st.OOMKills, Pids: st.Pids,
		PidsLimit: st.PidsLimit, DiskUsed: st.DiskUsed, DiskTotal: st.DiskTotal, NetRxBytes: st.NetRxBytes, NetTxBytes: st.NetTxBytes,
	}), nil
}

// StatsOf is the runtime's Stats of a message.
func StatsOf(m *nodev1.SandboxStats) runtime.Stats {
	return runtime.Stats{
		Timestamp: time.Unix(0, m.GetTimestampUnixNano()), CPUUsageNanos: m.GetCpuUsageNanos(), MemoryUsage: m.GetMemoryUsage(),
		MemoryCache: m.GetMemoryCache(), MemoryLimit: m.GetMemoryLimit(), OOMKills: m.GetOomKills(), Pids: m.GetPids(),
		PidsLimit: m.GetPidsLimit(), DiskUsed: m.GetDiskUsed(), DiskTotal: m.GetDiskTotal(), NetRxBytes: m.GetNetRxBytes(), NetTxBytes: m.GetNetTxBytes(),
	}
}

// Info implements the service.
func (s *Service) Info(ctx context.Context, req *connect.Request[nodev1.SandboxRef]) (*connect.Response[nodev1.SandboxInfo], error) {
	info, err := s.d.Info(ctx, req.Msg.GetId())
	if err != nil {
		return nil, errdefs.ToConnect(err)
	}
	return connect.NewResponse(InfoMessage(info)), nil
}

// List implements the service.
func (s *Service) List(ctx context.Context, _ *connect.Request[nodev1.ListRequest]) (*connect.Response[nodev1.ListResponse], error) {
	infos, err := s.owned(ctx)
	if err != nil {
		return nil, errdefs.ToConnect(err)
	}
	out := &nodev1.ListResponse{}
	for _, i := range infos {
		out.Sandboxes = append(out.Sandboxes, InfoMessage(i))
	}
	return connect.NewResponse(out), nil
}

// InfoMessage is the message of a runtime Info.
func InfoMessage(i runtime.Info) *nodev1.SandboxInfo {
	limits, _ := json.Marshal(i.Limits)
	m := &nodev1.SandboxInfo{Id: i.ID, Template: i.Template, Runtime: i.Runtime, Status: string(i.Status), Pid: int64(i.Pid),
		CreatedAtUnixNano: i.CreatedAt.UnixNano(), LimitsJson: limits, HostUid: i.HostUID}
	if !i.ClaimedAt.IsZero() {
		m.ClaimedAtUnixNano = i.ClaimedAt.UnixNano()
	}
	return m
}

// InfoOf is the runtime Info of a message.
func InfoOf(m *nodev1.SandboxInfo) (runtime.Info, error) {
	i := runtime.Info{ID: m.GetId(), Template: m.GetTemplate(), Runtime: m.GetRuntime(), Status: runtime.Status(m.GetStatus()),
		Pid: int(m.GetPid()), CreatedAt: time.Unix(0, m.GetCreatedAtUnixNano()), HostUID: m.GetHostUid()}
	if ns := m.GetClaimedAtUnixNano(); ns != 0 {
		i.ClaimedAt = time.Unix(0, ns)
	}
	if b := m.GetLimitsJson(); len(b) > 0 {
		if err := json.Unmarshal(b, &i.Limits); err != nil {
			return i, fmt.Errorf("sandbox %q: its limits do not decode: %w", i.ID, err)
		}
	}
	return i, nil
}

// Update implements the service.
func (s *Service) Update(ctx context.Context, req *connect.Request[nodev1.UpdateRequest]) (*connect.Response[nodev1.Empty], error) {
	u, ok := s.d.(runtime.Updater)
	if !ok {
		return nil, errdefs.ToConnect(fmt.Errorf("driver %s cannot change limits: %w", s.d.Name(), errdefs.ErrFailedPrecondition))
	}
	var l runtime.Limits
	if err := json.Unmarshal(req.Msg.GetLimitsJson(), &l); err != nil {
		return nil, errdefs.ToConnect(fmt.Errorf("the limits do not decode: %v: %w", err, errdefs.ErrInvalidArgument))
	}
	return empty(), errdefs.ToConnect(u.Update(ctx, req.Msg.GetId(), l))
}

// Logs implements the service.
func (s *Service) Logs(ctx context.Context, req *connect.Request[nodev1.LogsRequest]) (*connect.Response[nodev1.LogsResponse], error) {
	lr, ok := s.d.(runtime.LogReader)
	if !ok {
		return nil, errdefs.ToConnect(fmt.Errorf("driver %s keeps no logs: %w", s.d.Name(), errdefs.ErrFailedPrecondition))
	}
	limit := req.Msg.GetMax()
	if limit <= 0 || limit > MaxMessageBytes {
		limit = MaxMessageBytes
	}
	b, err := lr.Logs(ctx, req.Msg.GetId(), limit)
	if err != nil {
		return nil, errdefs.ToConnect(err)
	}
	return connect.NewResponse(&nodev1.LogsResponse{Log: b}), nil
}

// KillUserProcesses implements the service.
func (s *Service) KillUserProcesses(ctx context.Context, req *connect.Request[nodev1.SandboxRef]) (*connect.Response[nodev1.Empty], error) {
	k, ok := s.d.(runtime.UserKiller)
	if !ok {
		return nil, errdefs.ToConnect(fmt.Errorf("driver %s cannot kill user processes apart: %w", s.d.Name(), errdefs.ErrFailedPrecondition))
	}
	return empty(), errdefs.ToConnect(k.KillUserProcesses(ctx, req.Msg.GetId()))
}
