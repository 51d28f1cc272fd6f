// Package pool keeps sandboxes created ahead of demand, per template, so
// that a create request can claim one that is already running and only
// personalise it. How many it keeps follows demand: the rate of creates,
// smoothed over a window, times how long a refill takes, within the
// configured bounds and a memory budget. Refills run in the background
// with bounded concurrency; pools that see no demand shrink back.
//
// Pooled sandboxes belong to no team and are not in the store: a server
// that stops destroys them, and one that crashes has them destroyed by
// reconciliation at its next start, as any sandbox the store doesn't know.
package pool

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sync"
	"time"
)

// Maker makes and destroys pooled sandboxes.
type Maker interface {
	// Make creates and starts a sandbox of template, ready to be
	// personalised, with the interpreter languages in prewarm started
	// ahead, and returns its id.
	Make(ctx context.Context, template string, prewarm []string) (string, error)
	// Destroy removes a sandbox the pool made.
	Destroy(ctx context.Context, id string) error
	// MemoryMiB is what a pooled sandbox of template holds in memory, 0
	// when unknown.
	MemoryMiB(ctx context.Context, id string) float64
}

// Bounds are one template's pool settings.
type Bounds struct {
	// Min and Max bound the pool's size; between them it follows demand.
	Min int `json:"min"`
	Max int `json:"max"`
	// Prewarm lists the interpreter languages pooled sandboxes start
	// ahead.
	Prewarm []string `json:"prewarm,omitempty"`
}

// MaxSize bounds any one template's pool.
const MaxSize = 10000

// Validate says which bound is wrong.
func (b Bounds) Validate() error {
	switch {
	case b.Min < 0 || b.Max < 0:
		return fmt.Errorf("pool size bounds %d..%d: use non-negative numbers", b.Min, b.Max)
	case b.Max < b.Min:
		return fmt.Errorf("pool min %d is above max %d", b.Min, b.Max)
	case b.Max > MaxSize:
		return fmt.Errorf("pool max %d: use at most %d", b.Max, MaxSize)
	}
	for _, lang := range b.Prewarm {
		switch lang {
		case "python", "javascript", "bash":
		default:
			return fmt.Errorf("pool prewarm %q: want python, javascript or bash", lang)
		}
	}
	return nil
}

// Config bounds the pool.
type Config struct {
	// Templates are pooled from the start with Min, Max and Prewarm;
	// Set adds more.
	Templates []string
	// Min and Max bound each of Templates' pools.
	Min, Max int
	// Prewarm is the interpreter languages Templates' sandboxes start
	// ahead.
	Prewarm []string
	// MemoryBudgetMiB bounds the memory all pooled sandboxes may hold.
	MemoryBudgetMiB float64
	// Concurrency is how many refills run at once, across templates.
	Concurrency int
	// Window is the time constant demand is smoothed over.
	Window time.Duration
	// IdleAfter is how long a pool larger than its target waits before it
	// gives back one sandbox.
	IdleAfter time.Duration
}

func (c Config) withDefaults() Config {
	if c.Max == 0 {
		c.Max = 16
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 1
	}
	if c.Window == 0 {
		c.Window = 10 * time.Second
	}
	if c.IdleAfter == 0 {
		c.IdleAfter = 30 * time.Second
	}
	return c
}

// Validate says which bound is wrong.
func (c Config) Validate() error {
	if c.MemoryBudgetMiB < 0 {
		return fmt.Errorf("pool memory budget %v MiB: use 0 or more", c.MemoryBudgetMiB)
	}
	return Bounds{Min: c.Min, Max: c.Max}.Validate()
}

// Pool is the set of per-template pools of one server.
type Pool struct {
	cfg   Config
	maker Maker
	log   *slog.Logger
	fills chan struct{} // refill slots
	wake  chan struct{}

	mu        sync.Mutex
	templates map[string]*bucket
	lastClaim time.Time
}

// bucket is one template's pool.
type bucket struct {
	bounds Bounds
	// fills counts the refills in flight, which Remove and Replace wait
	// for; stop, closed by them, cancels those refills.
	fills sync.WaitGroup
	stop  chan struct{}

	ready   []entry
	filling int
	// demand since the last tick, and its smoothed rate per second
	demand int
	rate   float64
	// refill is the smoothed time a refill takes.
	refill time.Duration
	// memMiB is the smoothed memory of one pooled sandbox.
	memMiB float64
	target int
	// overSince is when the pool became larger than its target.
	overSince time.Time
	// lastMiss is when a claim last found the pool empty.
	lastMiss time.Time

	hits, misses, discarded, failures uint64
	// bare counts the refills made without the prewarm (dryPrewarm).
	bare uint64
}

type entry struct {
	id    string
	since time.Time
}

// New returns a pool; Run fills it.
func New(cfg Config, maker Maker, log *slog.Logger) *Pool {
	cfg = cfg.withDefaults()
	p := &Pool{
		cfg: cfg, maker: maker, log: log,
		fills: make(chan struct{}, cfg.Concurrency), wake: make(chan struct{}, 1),
		templates: map[string]*bucket{},
	}
	for _, t := range cfg.Templates {
		p.templates[t] = newBucket(Bounds{Min: cfg.Min, Max: cfg.Max, Prewarm: cfg.Prewarm})
	}
	return p
}

// Pooled reports whether template has a pool.
func (p *Pool) Pooled(template string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, ok := p.templates[template]
	return ok
}

// Claim takes a ready sandbox of template out of the pool, if there is
// one. Each sandbox is handed out once: the caller owns it from here,
// and gives it back with Discard if it proves broken.
func (p *Pool) Claim(template string) (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	b, ok := p.templates[template]
	if !ok {
		return "", false
	}
	b.demand++
	if len(b.ready) == 0 {
		b.misses++
		b.lastMiss = time.Now()
		p.kick()
		return "", false
	}
	// Newest first: the oldest are the ones the pool gives back when it
	// shrinks.
	e := b.ready[len(b.ready)-1]
	b.ready = b.ready[:len(b.ready)-1]
	b.hits++
	p.lastClaim = time.Now()
	p.kick()
	return e.id, true
}

// Discard destroys a claimed sandbox that could not be used, and counts
// it, so a pool of broken sandboxes shows.
func (p *Pool) Discard(ctx context.Context, template, id string, reason error) {
	p.mu.Lock()
	if b, ok := p.templates[template]; ok {
		b.discarded++
	}
	p.mu.Unlock()
	p.log.Warn("pooled sandbox discarded", "sandbox.id", id, "template", template, "err", reason)
	if err := p.maker.Destroy(context.WithoutCancel(ctx), id); err != nil {
		p.log.Error("destroy discarded pooled sandbox", "sandbox.id", id, "err", err)
	}
}

func newBucket(b Bounds) *bucket {
	return &bucket{bounds: b, target: b.Min, refill: time.Second, stop: make(chan struct{})}
}

func (p *Pool) kick() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// tick is how often demand is sampled and targets recomputed.
const tick = 250 * time.Millisecond

// Run keeps the pools at their targets until ctx is done, then destroys
// what is left in them.
func (p *Pool) Run(ctx context.Context) {
	t := time.NewTicker(tick)
	defer t.Stop()
	var wg sync.WaitGroup
	defer func() {
		wg.Wait()
		p.drain(context.WithoutCancel(ctx))
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			p.retarget(time.Now())
		case <-p.wake:
		}
		for _, job := range p.plan(time.Now()) {
			if job.shrink != "" {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if err := p.maker.Destroy(context.WithoutCancel(ctx), job.shrink); err != nil {
						p.log.Error("destroy idle pooled sandbox", "sandbox.id", job.shrink, "err", err)
					}
				}()
				continue
			}
			select {
			case p.fills <- struct{}{}:
			case <-ctx.Done():
				p.unfill(job.b)
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-p.fills }()
				p.fill(ctx, job.template, job.b)
			}()
		}
	}
}

// job is a refill of template, or the destruction of an idle sandbox.
type job struct {
	template string
	b        *bucket
	shrink   string
}

// plan decides the refills and shrinks needed now, counting refills as
// in flight.
func (p *Pool) plan(now time.Time) []job {
	p.mu.Lock()
	defer p.mu.Unlock()
	var jobs []job
	for name, b := range p.templates {
		have := len(b.ready) + b.filling
		for ; have < b.target && b.filling < p.cfg.Concurrency; have++ {
			b.filling++
			b.fills.Add(1)
			jobs = append(jobs, job{template: name, b: b})
		}
		switch {
		case len(b.ready) <= b.target:
			b.overSince = time.Time{}
		case b.overSince.IsZero():
			b.overSince = now
		case now.Sub(b.overSince) >= p.cfg.IdleAfter:
			// One at a time, oldest first, so a pool that is still
			// needed now and then does not collapse at once.
			jobs = append(jobs, job{shrink: b.ready[0].id})
			b.ready = b.ready[1:]
			b.overSince = now
		}
	}
	return jobs
}

func (p *Pool) unfill(b *bucket) {
	p.mu.Lock()
	b.filling--
	p.mu.Unlock()
	b.fills.Done()
}

// claimGrace is how long a refill waits after a claim: the claimed
// sandbox's first command usually follows within milliseconds, and a
// refill started at once would compete with it for the CPU.
const claimGrace = 30 * time.Millisecond

// dryPrewarm is how long after a claim found the pool empty refills skip
// the interpreters' prewarm. A pool that runs dry is behind its demand:
// what it makes is claimed at once by creates that would otherwise have
// started cold, without interpreters, and starting them (most of a
// refill's CPU: about 30 % fewer creates per second with it on two
// cores) takes the CPU those creates need. Claimed, such a sandbox starts
// an interpreter at its first use, as a cold one does.
const dryPrewarm = 5 * time.Second

// fill makes one sandbox for template's pool b. A pool removed or
// replaced meanwhile (its stop closed) gets nothing: the sandbox is
// destroyed.
func (p *Pool) fill(ctx context.Context, template string, b *bucket) {
	defer b.fills.Done()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-b.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	p.mu.Lock()
	wait := claimGrace - time.Since(p.lastClaim)
	p.mu.Unlock()
	if wait > 0 {
		select {
		case <-time.After(wait):
		case <-ctx.Done():
		}
	}
	p.mu.Lock()
	prewarm := b.bounds.Prewarm
	if len(prewarm) > 0 && !b.lastMiss.IsZero() && time.Since(b.lastMiss) < dryPrewarm {
		prewarm = nil
		b.bare++
	}
	p.mu.Unlock()
	start := time.Now()
	id, err := p.maker.Make(ctx, template, prewarm)
	took := time.Since(start)
	var mem float64
	if err == nil {
		mem = p.maker.MemoryMiB(ctx, id)
	}
	p.mu.Lock()
	b.filling--
	if err != nil {
		b.failures++
		p.mu.Unlock()
		if ctx.Err() == nil {
			p.log.Error("fill pool", "template", template, "err", err)
			// Do not spin on a template that cannot be made.
			select {
			case <-time.After(time.Second):
			case <-ctx.Done():
			}
		}
		return
	}
	b.refill = smooth(b.refill, took, 0.3)
	if mem > 0 {
		b.memMiB = smoothF(b.memMiB, mem, 0.3)
	}
	if ctx.Err() != nil || closed(b.stop) {
		p.mu.Unlock()
		if err := p.maker.Destroy(context.WithoutCancel(ctx), id); err != nil {
			p.log.Error("destroy pooled sandbox", "sandbox.id", id, "err", err)
		}
		return
	}
	b.ready = append(b.ready, entry{id: id, since: time.Now()})
	p.mu.Unlock()
}

// retarget folds the demand of the last tick into each template's rate
// and sets its target: enough sandboxes to cover the creates expected
// while one refill runs, within the template's [Min, Max], then fits the
// targets into the memory budget (fairShare).
func (p *Pool) retarget(now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	alpha := 1 - math.Exp(-float64(tick)/float64(p.cfg.Window))
	for _, b := range p.templates {
		perSec := float64(b.demand) / tick.Seconds()
		b.demand = 0
		b.rate = b.rate + alpha*(perSec-b.rate)
		want := int(math.Ceil(b.rate * b.refill.Seconds() * 1.5))
		b.target = max(0, max(b.bounds.Min, min(b.bounds.Max, want)))
	}
	if p.cfg.MemoryBudgetMiB > 0 {
		fairShare(p.cfg.MemoryBudgetMiB, p.templates)
	}
}

// fairShare cuts the targets of pools whose sandboxes' memory is known
// down to a max-min fair share of budget: pools wanting less than an
// equal share keep what they want, and what they leave is split equally
// among the others. One busy template cannot starve the rest, and an
// idle one holds no memory it does not use.
func fairShare(budget float64, pools map[string]*bucket) {
	var measured []*bucket
	for _, b := range pools {
		if b.memMiB > 0 && b.target > 0 {
			measured = append(measured, b)
		}
	}
	slices.SortFunc(measured, func(x, y *bucket) int {
		return cmp.Compare(float64(x.target)*x.memMiB, float64(y.target)*y.memMiB)
	})
	left := budget
	for i, b := range measured {
		share := left / float64(len(measured)-i)
		b.target = min(b.target, int(share/b.memMiB))
		left -= float64(b.target) * b.memMiB
	}
}

// drain destroys every ready sandbox.
func (p *Pool) drain(ctx context.Context) {
	p.mu.Lock()
	var ids []string
	for _, b := range p.templates {
		for _, e := range b.ready {
			ids = append(ids, e.id)
		}
		b.ready = nil
	}
	p.mu.Unlock()
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := p.maker.Destroy(ctx, id); err != nil {
				p.log.Error("destroy pooled sandbox", "sandbox.id", id, "err", err)
			}
		}()
	}
	wg.Wait()
}

// closed reports whether ch is closed.
func closed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func smooth(old, sample time.Duration, alpha float64) time.Duration {
	return time.Duration(smoothF(float64(old), float64(sample), alpha))
}

func smoothF(old, sample, alpha float64) float64 {
	if old == 0 {
		return sample
	}
	return old + alpha*(sample-old)
}
