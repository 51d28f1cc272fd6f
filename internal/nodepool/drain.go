package nodepool

import (
	"context"

	"github.com/soulbox/soulbox/internal/pool"
)

// Drain empties the pool and stops its refills, for a node the control
// plane drained: it takes no creates, and what it holds ahead would
// only hold memory. It returns once the pool's sandboxes are destroyed.
// Refill undoes it.
func (p *Pool) Drain(ctx context.Context) {
	p.mu.Lock()
	if p.drained != nil {
		p.mu.Unlock()
		return
	}
	p.drained = map[string]pool.Bounds{}
	for _, st := range p.p.Stats() {
		if b, ok := p.p.Bounds(st.Template); ok {
			p.drained[st.Template] = b
		}
	}
	drained := p.drained
	p.mu.Unlock()
	for t := range drained {
		p.p.Remove(ctx, t)
	}
}

// Refill pools again what Drain emptied.
func (p *Pool) Refill() {
	p.mu.Lock()
	drained := p.drained
	p.drained = nil
	p.mu.Unlock()
	for t, b := range drained {
		p.p.Set(t, b)
	}
}
