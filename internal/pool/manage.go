package pool

import (
	"context"
	"sync"
)

// Set pools template within b, or changes the bounds of its pool. The
// sandboxes it already holds stay.
func (p *Pool) Set(template string, b Bounds) {
	p.mu.Lock()
	if bk, ok := p.templates[template]; ok {
		bk.bounds = b
		bk.target = max(b.Min, min(b.Max, bk.target))
	} else {
		p.templates[template] = newBucket(b)
	}
	p.mu.Unlock()
	p.kick()
}

// Bounds returns template's pool bounds, if it has a pool.
func (p *Pool) Bounds(template string) (Bounds, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	b, ok := p.templates[template]
	if !ok {
		return Bounds{}, false
	}
	return b.bounds, true
}

// Replace pools template within b, with none of the sandboxes made
// before: they run an older build of it. It returns once those are
// destroyed; refills then start afresh.
func (p *Pool) Replace(ctx context.Context, template string, b Bounds) {
	old := p.take(template)
	p.mu.Lock()
	nb := newBucket(b)
	if old != nil {
		// The counts and the demand carry over; only the sandboxes go.
		nb.hits, nb.misses, nb.discarded, nb.failures = old.hits, old.misses, old.discarded, old.failures
		nb.rate, nb.refill, nb.memMiB = old.rate, old.refill, old.memMiB
	}
	p.templates[template] = nb
	p.mu.Unlock()
	p.kick()
	p.destroyAll(ctx, old)
}

// Remove ends template's pool: its refills are cancelled and its
// sandboxes destroyed before Remove returns, so nothing of the template
// is in use by the pool afterwards.
func (p *Pool) Remove(ctx context.Context, template string) {
	p.destroyAll(ctx, p.take(template))
}

// take removes template's bucket from the pool and stops its refills.
func (p *Pool) take(template string) *bucket {
	p.mu.Lock()
	defer p.mu.Unlock()
	b, ok := p.templates[template]
	if !ok {
		return nil
	}
	delete(p.templates, template)
	close(b.stop)
	return b
}

// destroyAll waits for b's refills, which destroy what they make once
// stopped, and destroys its ready sandboxes.
func (p *Pool) destroyAll(ctx context.Context, b *bucket) {
	if b == nil {
		return
	}
	b.fills.Wait()
	p.mu.Lock()
	ready := b.ready
	b.ready = nil
	p.mu.Unlock()
	ctx = context.WithoutCancel(ctx)
	var wg sync.WaitGroup
	for _, e := range ready {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := p.maker.Destroy(ctx, e.id); err != nil {
				p.log.Error("destroy pooled sandbox", "sandbox.id", e.id, "err", err)
			}
		}()
	}
	wg.Wait()
}
