package bench

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/soulbox/soulbox/internal/client"
)

// The kinds of request the API load mixes, and their shares of it.
const (
	LoadGet        = "get"
	LoadList       = "list"
	LoadSetTimeout = "set_timeout"
	LoadMetrics    = "metrics"
	// LoadRunLogin is commands.run('echo hi') exactly as the E2B SDKs
	// send it: a login bash (bash -l -c) started over the process Start
	// stream through the proxy.
	LoadRunLogin = "commands_run_sdk"
)

// loadMix is the mix of API requests, in shares: reads most, as a
// dashboard or an agent framework polling its sandboxes sends them. It
// holds the control plane's API only; commands.run, which goes through
// the proxy into a sandbox and costs a process there, has its own load
// (run_load), so that either can be measured without the other.
var loadMix = []struct {
	kind   string
	shares int
}{
	{LoadGet, 6}, {LoadList, 4}, {LoadSetTimeout, 4}, {LoadMetrics, 3},
}

// maxInFlight bounds the requests outstanding at once; a request due
// while that many wait is not sent and counted as shed: the client, not
// the server, could not keep the rate.
const maxInFlight = 512

// APILoad is the result of the API load: the rate asked and reached, and
// the latency and errors of each kind of request.
type APILoad struct {
	TargetPerSec   int     `json:"target_per_sec"`
	Sandboxes      int     `json:"sandboxes"`
	DurationSec    float64 `json:"duration_s"`
	Sent           int     `json:"sent"`
	Shed           int     `json:"shed"`
	AchievedPerSec float64 `json:"achieved_per_sec"`
	// SucceededPerSec counts only the requests answered without error.
	SucceededPerSec float64              `json:"succeeded_per_sec"`
	Errors          int                  `json:"errors"`
	Kinds           map[string]*LoadKind `json:"kinds"`
	// ServerCPUMsPerRequest is the CPU the server's process used during
	// the load, per request sent: far steadier from run to run than the
	// latencies on a shared host. Zero when the server does not show its
	// CPU time in /metrics.
	ServerCPUMsPerRequest float64 `json:"server_cpu_ms_per_request,omitempty"`
}

// LoadKind is one kind of request under the load.
type LoadKind struct {
	Ms     Percentiles `json:"ms"`
	Errors int         `json:"errors"`
}

// measureAPILoad sends a mix of API calls (get a sandbox, list the run's
// sandboxes by metadata, set a timeout, read metrics) across
// APISandboxes sandboxes, at
// APIRate requests per second for APIDuration, open loop: requests are
// sent on schedule whether or not earlier ones have been answered, so a
// slow server shows as latency, not as a lower rate.
func measureAPILoad(ctx context.Context, r *runner) error {
	load, err := r.openLoop(ctx, APILoadName, mixKinds(loadMix))
	if load != nil {
		r.rep.APILoad = load
	}
	return err
}

// mixKinds spreads a mix into the sequence of kinds the load cycles
// through.
func mixKinds(mix []struct {
	kind   string
	shares int
}) []string {
	var kinds []string
	for _, m := range mix {
		for range m.shares {
			kinds = append(kinds, m.kind)
		}
	}
	return kinds
}

// openLoop creates APISandboxes sandboxes, sends requests of kinds (in
// turn) across them at APIRate per second for APIDuration, open loop,
// and kills the sandboxes. Failures are counted under name.
func (r *runner) openLoop(ctx context.Context, name string, kinds []string) (*APILoad, error) {
	sbs := make([]client.Sandbox, r.cfg.APISandboxes)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.cfg.Concurrency)
	for i := range sbs {
		g.Go(func() error {
			sb, err := r.fleet.create(gctx, false)
			sbs[i] = sb
			return err
		})
	}
	defer func() {
		for _, sb := range sbs {
			if sb.SandboxID != "" {
				if err := r.fleet.kill(ctx, sb.SandboxID); err != nil {
					r.fail(name, err)
				}
			}
		}
	}()
	if err := g.Wait(); err != nil {
		return nil, err
	}

	// Connections kept for the whole load, as a client at this rate
	// would keep them, rather than the default two idle per host.
	cl := *r.cl
	cl.HTTP = &http.Client{Transport: &http.Transport{
		MaxIdleConns: maxInFlight, MaxIdleConnsPerHost: maxInFlight, IdleConnTimeout: time.Minute,
	}}
	defer cl.HTTP.CloseIdleConnections()

	type result struct {
		kind string
		took time.Duration
		err  error
	}
	var (
		mu      sync.Mutex
		results []result
		wg      sync.WaitGroup
		inFlt   atomic.Int64
		shed    int
	)
	rate := r.cfg.APIRate
	total := int(r.cfg.APIDuration.Seconds() * float64(rate))
	cpu0, cpuOK := serverCPU(ctx, &cl)
	start := time.Now()
	for i := 0; i < total && ctx.Err() == nil; i++ {
		if d := time.Until(start.Add(time.Duration(i) * time.Second / time.Duration(rate))); d > 0 {
			time.Sleep(d)
		}
		if inFlt.Load() >= maxInFlight {
			shed++
			continue
		}
		s, k := loadTarget(i, len(sbs), len(kinds))
		sb, kind := sbs[s], kinds[k]
		inFlt.Add(1)
		wg.Go(func() {
			defer inFlt.Add(-1)
			t0 := time.Now()
			err := loadRequest(ctx, &cl, r.fleet.tag, kind, sb)
			took := time.Since(t0)
			mu.Lock()
			results = append(results, result{kind, took, err})
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	cpu1, cpuOK1 := serverCPU(ctx, &cl)

	load := &APILoad{
		TargetPerSec: rate, Sandboxes: len(sbs), DurationSec: roundTo(elapsed.Seconds(), 2),
		Sent: len(results), Shed: shed, AchievedPerSec: roundTo(float64(len(results))/elapsed.Seconds(), 1),
		Kinds: map[string]*LoadKind{},
	}
	samples := map[string][]time.Duration{}
	ok := 0
	for _, res := range results {
		k := load.Kinds[res.kind]
		if k == nil {
			k = &LoadKind{}
			load.Kinds[res.kind] = k
		}
		if res.err != nil {
			k.Errors++
			load.Errors++
			r.fail(name, fmt.Errorf("%s: %w", res.kind, res.err))
			continue
		}
		ok++
		samples[res.kind] = append(samples[res.kind], res.took)
	}
	load.SucceededPerSec = roundTo(float64(ok)/elapsed.Seconds(), 1)
	if cpuOK && cpuOK1 && len(results) > 0 {
		load.ServerCPUMsPerRequest = roundTo((cpu1-cpu0)*1000/float64(len(results)), 3)
	}
	for kind, s := range samples {
		load.Kinds[kind].Ms = Summarize(s)
	}
	return load, nil
}

// loadTarget picks the sandbox and the kind of the i-th request: the
// sandboxes in turn, the kinds shifted by one every round of them, so
// that every sandbox gets requests and every kind, in the mix's shares,
// whatever the numbers of sandboxes and kinds.
func loadTarget(i, sandboxes, kinds int) (sandbox, kind int) {
	return i % sandboxes, (i%sandboxes + i/sandboxes) % kinds
}

// loadRequest sends one request of kind about sb.
func loadRequest(ctx context.Context, cl *client.Client, tag, kind string, sb client.Sandbox) error {
	switch kind {
	case LoadGet:
		_, err := cl.Get(ctx, sb.SandboxID)
		return err
	case LoadList:
		_, err := cl.List(ctx, client.ListOptions{States: []string{"running"}, Metadata: map[string]string{MetadataKey: tag}})
		return err
	case LoadSetTimeout:
		return cl.SetTimeout(ctx, sb.SandboxID, sandboxLifetime)
	case LoadMetrics:
		_, err := cl.Metrics(ctx, sb.SandboxID)
		return err
	case LoadRunLogin:
		return echoHi(ctx, cl, sb)
	}
	return fmt.Errorf("unknown request kind %q", kind)
}

// loadKinds are the kinds of an APILoad in the order of the mix, the
// SDK's commands.run last.
func (l *APILoad) loadKinds() []string {
	var out []string
	for _, m := range loadMix {
		if _, ok := l.Kinds[m.kind]; ok {
			out = append(out, m.kind)
		}
	}
	if _, ok := l.Kinds[LoadRunLogin]; ok {
		out = append(out, LoadRunLogin)
	}
	return out
}

// rows are the report's lines of a load titled title; none for nil.
func (l *APILoad) rows(title string) [][2]string {
	if l == nil {
		return nil
	}
	rows := [][2]string{{title, fmt.Sprintf("%.1f req/s of %d asked, %.1f/s answered without error (%d sent, %d shed by the client, %d errors) across %d sandboxes for %.0fs",
		l.AchievedPerSec, l.TargetPerSec, l.SucceededPerSec, l.Sent, l.Shed, l.Errors, l.Sandboxes, l.DurationSec)}}
	if l.ServerCPUMsPerRequest > 0 {
		rows = append(rows, [2]string{"  server CPU", fmt.Sprintf("%.3f ms per request", l.ServerCPUMsPerRequest)})
	}
	for _, k := range l.loadKinds() {
		lk := l.Kinds[k]
		rows = append(rows, [2]string{"  " + k, fmt.Sprintf("p50 %.1f ms, p95 %.1f ms, p99 %.1f ms, %d ok, %d errors", lk.Ms.P50, lk.Ms.P95, lk.Ms.P99, lk.Ms.N, lk.Errors)})
	}
	return rows
}
