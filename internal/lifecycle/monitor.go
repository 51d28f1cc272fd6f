package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/logx"
	"github.com/soulbox/soulbox/internal/runtime"
	"github.com/soulbox/soulbox/internal/store"
)

// Metric is one sample of a sandbox's resource use, in E2B's terms, with
// the network counters beside them.
type Metric struct {
	Timestamp  time.Time
	CPUCount   int
	CPUUsedPct float64
	MemUsed    uint64
	MemTotal   uint64
	MemCache   uint64
	DiskUsed   uint64
	DiskTotal  uint64
	NetRxBytes uint64 // received by the sandbox so far
	NetTxBytes uint64 // sent by the sandbox so far
	// Resolution is 0 for a raw sample, the bucket's width for one
	// downsampled from several.
	Resolution time.Duration
}

// series is what the monitor remembers of a live sandbox between
// samples: the previous counters, to turn CPU time into a share.
type series struct {
	last runtime.Stats
}

// monitor samples every running sandbox, and ends those whose agent died
// on its own (with reason oom when the memory limit killed it, else
// error) or has not answered its health check for UnresponsiveAfter
// (reason error). Every step has a deadline and every failure is
// logged with the sandbox's id.
func (m *Manager) monitor(ctx context.Context) {
	tick := time.NewTicker(m.every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		m.monitorPass(ctx)
	}
}

// monitorPass checks each live sandbox once, after settling the pauses
// and resumes on joined nodes that were cut short.
func (m *Manager) monitorPass(ctx context.Context) {
	m.settleLeft(ctx)
	listCtx, cancel := context.WithTimeout(ctx, sampleDeadline)
	live, err := m.store.ListSandboxes(listCtx, store.SandboxFilter{States: []store.SandboxState{store.StateRunning, store.StatePaused}})
	cancel()
	if err != nil {
		if ctx.Err() == nil {
			m.log.Error("monitor: list live sandboxes", logx.Err(err))
		}
		return
	}
	for _, sb := range live {
		if ctx.Err() != nil {
			return
		}
		sctx, cancel := context.WithTimeout(ctx, sampleDeadline)
		m.sample(sctx, sb)
		cancel()
	}
	m.flushSamples(ctx)
	m.tidyHistory(ctx, time.Now())
}

func (m *Manager) sample(ctx context.Context, sb store.Sandbox) {
	log := m.log.With(logx.Sandbox(sb.ID))
	if m.isInTransit(sb.ID) {
		return // being paused or resumed: the runtime's state is in between
	}
	info, err := m.driver.Info(ctx, sb.ID)
	if err != nil {
		// Gone from the runtime while the store calls it live: ended as
		// lost, with the runtime's answer as the message. A sandbox
		// ended meanwhile is not found in the store either, and skipped.
		if errdefs.IsNotFound(err) {
			m.end(ctx, sb, store.ReasonLost, "gone from the runtime: "+err.Error())
			return
		}
		if ctx.Err() == nil || errors.Is(err, context.DeadlineExceeded) {
			log.Error("monitor: runtime info", logx.Err(err))
		}
		return
	}
	if info.Status == runtime.StatusStopped && sb.State == store.StatePaused {
		return // paused to disk
	}
	if info.Status == runtime.StatusStopped {
		st, err := m.driver.Stats(ctx, sb.ID)
		if err != nil {
			log.Warn("monitor: stats of a stopped sandbox", logx.Err(err))
		}
		reason, msg := store.ReasonError, "the sandbox's main process exited"
		if st.OOMKills > 0 {
			reason, msg = store.ReasonOOM, fmt.Sprintf("killed by the memory limit (%d MiB)", sb.MemoryMB)
		}
		m.end(ctx, sb, reason, msg)
		return
	}
	if sb.State != store.StateRunning || info.Status != runtime.StatusRunning {
		m.resetProbe(sb.ID)
		return
	}
	st, err := m.driver.Stats(ctx, sb.ID)
	if err != nil {
		log.Warn("monitor: stats", logx.Err(err))
	} else {
		m.record(sb, st)
	}
	m.probe(ctx, sb)
}

// record queues a sample of the sandbox for the pass's one write to the
// store.
func (m *Manager) record(sb store.Sandbox, st runtime.Stats) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.metrics[sb.ID]
	if s == nil {
		s = &series{}
		m.metrics[sb.ID] = s
	}
	m.pending = append(m.pending, toSample(sb.ID, toMetric(sb, s.last, st)))
	s.last = st
}

// probeFailure is a run of failed health checks of one sandbox.
type probeFailure struct {
	n     int
	since time.Time
}

// EventUnresponsive is recorded when a running sandbox's agent first
// fails its health check, EventResponsive when it answers again.
const (
	EventUnresponsive = "unresponsive"
	EventResponsive   = "responsive"
)

// probe checks that a running sandbox's agent answers /health. An agent
// that has not answered for UnresponsiveAfter (and at least ProbeFailures
// checks in a row) cannot serve the sandbox's users (every command and
// file call goes through it), so the sandbox is ended with reason error
// and the last failure as its message: the API then reports it gone, as
// E2B does for a sandbox that died, instead of listing it running while
// nothing works. A shorter silence (a sandbox saturating its CPUs, a busy
// host) only records an unresponsive event, and a responsive one when it
// ends.
func (m *Manager) probe(ctx context.Context, sb store.Sandbox) {
	pctx, cancel := context.WithTimeout(ctx, m.probeTO)
	err := m.probeAgent(pctx, sb.ID)
	cancel()
	if err == nil {
		if m.resetProbe(sb.ID) {
			m.recordEvent(ctx, sb.ID, EventResponsive, "the agent answers its health check again")
		}
		return
	}
	if ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return // the monitor is stopping: not the agent's fault
	}
	now := time.Now()
	m.mu.Lock()
	f, ok := m.probeFails[sb.ID]
	if !ok {
		f.since = now
	}
	f.n++
	m.probeFails[sb.ID] = f
	m.mu.Unlock()
	m.log.Warn("monitor: agent health check failed", logx.Sandbox(sb.ID), slog.Int("in_a_row", f.n), logx.Err(err))
	if f.n == 1 {
		m.recordEvent(ctx, sb.ID, EventUnresponsive, fmt.Sprintf("the agent did not answer its health check: %v; the sandbox is ended if it does not answer for %s", err, m.unresp))
	}
	if f.n >= m.probeN && now.Sub(f.since) >= m.unresp {
		m.end(ctx, sb, store.ReasonError, fmt.Sprintf("the agent stopped answering: no health check answered for %s (%d in a row failed), the last with: %v",
			now.Sub(f.since).Round(time.Second), f.n, err))
	}
}

// recordEvent adds an event to a running sandbox's log; a sandbox that is
// no longer running gets none.
func (m *Manager) recordEvent(ctx context.Context, id, typ, msg string) {
	err := m.store.SetState(context.WithoutCancel(ctx), id, []store.SandboxState{store.StateRunning}, store.StateRunning, store.Event{Type: typ, Message: msg})
	if err != nil && !errdefs.IsNotFound(err) && !errors.Is(err, errdefs.ErrFailedPrecondition) {
		m.log.Error("monitor: record event", logx.Sandbox(id), slog.String("event", typ), logx.Err(err))
	}
}

// resetProbe forgets a sandbox's failed checks, reporting whether it had
// any.
func (m *Manager) resetProbe(id string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, had := m.probeFails[id]
	delete(m.probeFails, id)
	return had
}

// end ends a sandbox for the monitor, logging a failure with its id.
//
// seen is the record the monitor judged from, read before any pause or
// resume that may have run since: the end happens only if the record is
// still in seen's state once those have finished. A sandbox paused (or
// resumed) meanwhile is judged again at the next pass.
func (m *Manager) end(ctx context.Context, seen store.Sandbox, reason store.EndReason, msg string) {
	still := func(now store.Sandbox) bool { return now.State == seen.State }
	if err := m.killIf(context.WithoutCancel(ctx), seen.ID, reason, msg, still); err != nil && !errdefs.IsNotFound(err) {
		m.log.Error("monitor: end sandbox", logx.Sandbox(seen.ID), slog.String("reason", string(reason)), slog.String("why", msg), logx.Err(err))
	}
}

// toMetric turns cumulative CPU time into the share of the sandbox's CPUs
// used since the previous sample.
func toMetric(sb store.Sandbox, prev, cur runtime.Stats) Metric {
	m := Metric{
		Timestamp: cur.Timestamp, CPUCount: sb.CPUCount,
		MemUsed: cur.MemoryUsage - min(cur.MemoryCache, cur.MemoryUsage), MemTotal: cur.MemoryLimit, MemCache: cur.MemoryCache,
		DiskUsed: cur.DiskUsed, DiskTotal: cur.DiskTotal, NetRxBytes: cur.NetRxBytes, NetTxBytes: cur.NetTxBytes,
	}
	if !prev.Timestamp.IsZero() && cur.CPUUsageNanos >= prev.CPUUsageNanos && sb.CPUCount > 0 {
		wall := cur.Timestamp.Sub(prev.Timestamp).Nanoseconds()
		if wall > 0 {
			m.CPUUsedPct = 100 * float64(cur.CPUUsageNanos-prev.CPUUsageNanos) / float64(wall) / float64(sb.CPUCount)
		}
	}
	return m
}
