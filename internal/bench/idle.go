package bench

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/soulbox/soulbox/internal/client"
)

// settleTimeout bounds the wait for a fresh metrics sample of every idle
// sandbox; the server samples every few seconds.
const settleTimeout = 15 * time.Second

// releaseWait is how long the host is given to take back the memory of
// sandboxes killed by earlier measurements before MemAvailable is read:
// a killed sandbox's memory returns over seconds, not at once.
const releaseWait = 5 * time.Second

// leakWait bounds the wait for the host to show nothing of the killed
// idle sandboxes: a kill is answered once its sandbox is gone, but a
// lazily unmounted mount or a link being deleted may take a moment more.
const leakWait = 30 * time.Second

// measureIdle creates Idle sandboxes (timed), then checks that every one
// runs a command, lets them settle and reports their memory per sandbox
// three ways: what the server's metrics say their cgroups use, the
// resident memory of their processes, and how far this machine's
// MemAvailable fell. It then kills them and checks that none left
// anything on this host. The sandboxes bypass the pool: one taken from
// it was started before the first reading.
func measureIdle(ctx context.Context, r *runner) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(releaseWait):
	}
	before, err := memAvailable()
	if err != nil {
		return err
	}
	start := time.Now()
	sbs, err := r.startIdle(ctx)
	created := time.Since(start)
	killed := false
	defer func() {
		if !killed {
			r.killAll(ctx, Idle, sbs)
		}
	}()
	if err != nil {
		return err
	}
	answered, err := r.answerAll(ctx, sbs)
	if err != nil {
		return err
	}
	used, err := r.settledMemUsed(ctx, sbs)
	if err != nil {
		return err
	}
	after, err := memAvailable()
	if err != nil {
		return err
	}
	ids := map[string]bool{}
	for _, sb := range sbs {
		ids[sb.SandboxID] = true
	}
	use, err := scanHost(ids)
	if err != nil {
		return err
	}
	var rss, pss int64
	for _, u := range use {
		rss += u.RSSBytes
		pss += u.PSSBytes
	}
	n := float64(len(sbs))
	idle := &IdleMemory{
		Sandboxes:            len(sbs),
		CreateAllSec:         roundTo(created.Seconds(), 1),
		Answered:             answered,
		CgroupMemUsed:        roundTo(float64(used)/n/(1<<20), 1),
		ProcessRSS:           roundTo(float64(rss)/n/(1<<20), 1),
		ProcessPSS:           roundTo(float64(pss)/n/(1<<20), 1),
		HostMemAvailableDrop: roundTo(float64(before-after)/n/(1<<20), 1),
	}
	r.rep.IdleMiBPerSandbox = idle

	killStart := time.Now()
	r.killAll(ctx, Idle, sbs)
	killed = true
	idle.KillAllSec = roundTo(time.Since(killStart).Seconds(), 1)
	left, err := waitNothingLeft(ctx, ids)
	if err != nil {
		return err
	}
	idle.Leftovers = left
	if len(left) > 0 {
		return fmt.Errorf("killed idle sandboxes left on this host: %s", strings.Join(left, ", "))
	}
	return nil
}

// waitNothingLeft scans the host until the sandboxes ids hold nothing on
// it, for up to leakWait, and returns what is still left then.
func waitNothingLeft(ctx context.Context, ids map[string]bool) ([]string, error) {
	deadline := time.Now().Add(leakWait)
	for {
		use, err := scanHost(ids)
		if err != nil {
			return nil, err
		}
		left := leftovers(use)
		if len(left) == 0 || time.Now().After(deadline) {
			return left, nil
		}
		select {
		case <-ctx.Done():
			return left, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// startIdle creates the idle sandboxes, Concurrency at a time. It stops
// once this machine's MemAvailable falls under IdleMinAvailableMiB. It
// returns every sandbox it created, also on failure, for the caller to
// kill.
func (r *runner) startIdle(ctx context.Context) ([]client.Sandbox, error) {
	var mu sync.Mutex
	var sbs []client.Sandbox
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.cfg.Concurrency)
	for range r.cfg.Idle {
		g.Go(func() error {
			if err := r.memoryLeft(); err != nil {
				return err
			}
			sb, err := r.fleet.create(gctx, true)
			if err != nil {
				return err
			}
			mu.Lock()
			sbs = append(sbs, sb)
			if len(sbs)%100 == 0 {
				fmt.Fprintf(r.progress, "bench: %d idle sandboxes\n", len(sbs))
			}
			mu.Unlock()
			return nil
		})
	}
	err := g.Wait()
	return sbs, err
}

// memoryLeft fails once this machine's MemAvailable is under the floor.
func (r *runner) memoryLeft() error {
	if r.cfg.IdleMinAvailableMiB == 0 {
		return nil
	}
	avail, err := memAvailable()
	if err != nil {
		return err
	}
	if avail>>20 < r.cfg.IdleMinAvailableMiB {
		return fmt.Errorf("this machine's MemAvailable is %d MiB, under the floor of %d MiB (--idle-min-available-mib): no more idle sandboxes created", avail>>20, r.cfg.IdleMinAvailableMiB)
	}
	return nil
}

// answerAll runs `true` in every sandbox through the proxy, once all
// exist, and returns how many answered; the first failure is the error.
func (r *runner) answerAll(ctx context.Context, sbs []client.Sandbox) (int, error) {
	var answered atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.cfg.Concurrency)
	for _, sb := range sbs {
		g.Go(func() error {
			code, err := r.cl.Exec(gctx, sb, []string{"true"}, client.ExecOptions{})
			if err == nil && code != 0 {
				err = fmt.Errorf("exit code %d", code)
			}
			if err != nil {
				return fmt.Errorf("run true in sandbox %s: %w", sb.SandboxID, err)
			}
			answered.Add(1)
			return nil
		})
	}
	err := g.Wait()
	return int(answered.Load()), err
}

// settledMemUsed waits until every sandbox has a metrics sample newer than
// the one it had when the wait began (one taken while it was idle), and
// returns the sum of their memory use in bytes. Comparing the server's
// timestamps with each other, never with this machine's clock, keeps it
// right when the clocks differ.
func (r *runner) settledMemUsed(ctx context.Context, sbs []client.Sandbox) (uint64, error) {
	first := map[string]time.Time{}
	latest := map[string]client.Metric{}
	deadline := time.Now().Add(settleTimeout)
	for round := 0; ; round++ {
		pending := 0
		for _, sb := range sbs {
			id := sb.SandboxID
			if m, ok := latest[id]; ok && round > 0 && m.Timestamp.After(first[id]) {
				continue
			}
			ms, err := r.cl.Metrics(ctx, id)
			if err != nil {
				return 0, fmt.Errorf("metrics of sandbox %s: %w", id, err)
			}
			m, ok := newest(ms)
			if !ok {
				pending++
				continue
			}
			latest[id] = m
			if round == 0 {
				first[id] = m.Timestamp
			}
			if round == 0 || !m.Timestamp.After(first[id]) {
				pending++
			}
		}
		if pending == 0 || time.Now().After(deadline) {
			break
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(time.Second):
		}
	}
	var sum uint64
	for _, sb := range sbs {
		m, ok := latest[sb.SandboxID]
		if !ok {
			return 0, fmt.Errorf("metrics of sandbox %s: the server reported no sample", sb.SandboxID)
		}
		sum += m.MemUsed
	}
	return sum, nil
}

func newest(ms []client.Metric) (client.Metric, bool) {
	if len(ms) == 0 {
		return client.Metric{}, false
	}
	best := ms[0]
	for _, m := range ms[1:] {
		if m.Timestamp.After(best.Timestamp) {
			best = m
		}
	}
	return best, true
}

// killAll kills sandboxes in parallel; failures are counted under name
// and the sandboxes left to the final cleanup.
func (r *runner) killAll(ctx context.Context, name string, sbs []client.Sandbox) {
	var g errgroup.Group
	g.SetLimit(r.cfg.Concurrency)
	for _, sb := range sbs {
		g.Go(func() error {
			if err := r.fleet.kill(ctx, sb.SandboxID); err != nil {
				r.fail(name, err)
			}
			return nil
		})
	}
	_ = g.Wait()
}
