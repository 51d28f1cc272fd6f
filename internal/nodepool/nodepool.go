// Package nodepool is a joined node's warm pool: sandboxes of the
// templates the node builds itself, made ahead with its own driver and
// handed, fitted, to the control plane's creates (runtime.Claimer). How
// many it keeps, and when it refills, is internal/pool's, as for the
// embedded node; what is here is how a node makes, fits and hides them.
//
// A pooled sandbox is no one's until it is claimed: the node's sandbox
// service neither lists nor counts it (Holds), and the node destroys
// what its pool holds when it stops. Each one it holds has a marker
// file in the pool's directory, written before the runtime knows the
// sandbox and removed once it is claimed or destroyed, so a node that
// crashed destroys at its next start (Sweep) what its pool held: a
// returning node's sandboxes are kept by the control plane when it
// comes back within its lease, and nothing else would end them.
package nodepool

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/soulbox/soulbox/internal/pool"
	"github.com/soulbox/soulbox/internal/runtime"
)

// Driver is what the pool makes and fits its sandboxes with: a node's
// OCI driver has all of it.
type Driver interface {
	runtime.Driver
	runtime.Dialer
	runtime.Updater
	runtime.NetworkPolicer
	runtime.Prioritizer
}

// Pool is a node's warm pool.
type Pool struct {
	p   *pool.Pool
	d   Driver
	log *slog.Logger

	// dir holds a marker file per held sandbox; "": none.
	dir string

	mu sync.Mutex
	// held are the sandboxes the pool made and has not handed out:
	// being made, ready, or being fitted to a claim.
	held map[string]bool
	// claimed are when the sandboxes handed out within ClaimGrace were
	// claimed (ClaimedAt).
	claimed map[string]time.Time
	// keys are the sandboxes of those claims that had a key, by key
	// (ClaimedBy).
	keys map[string]string
	// drained are the bounds of the pools Drain removed; nil: not
	// drained.
	drained map[string]pool.Bounds
}

var _ runtime.Claimer = (*Pool)(nil)

// New returns a pool of cfg's templates made with d, marking the
// sandboxes it holds in dir (see Sweep); Run fills it.
func New(cfg pool.Config, d Driver, dir string, log *slog.Logger) *Pool {
	p := &Pool{d: d, dir: dir, log: log, held: map[string]bool{}, claimed: map[string]time.Time{}, keys: map[string]string{}}
	p.p = pool.New(cfg, maker{p}, log)
	return p
}

// Run keeps the pool filled until ctx ends, then destroys what it holds
// before it returns.
func (p *Pool) Run(ctx context.Context) { p.p.Run(ctx) }

// Holds reports whether sandbox id is the pool's, not a create's.
func (p *Pool) Holds(id string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.held[id]
}

// Ready lists the templates with a sandbox ready and how many of each
// (ready[i] of templates[i]), for the heartbeat: the control plane
// prefers this node for as many of their creates.
func (p *Pool) Ready() (templates []string, ready []int64) {
	for _, st := range p.p.Stats() {
		if st.Ready > 0 {
			templates = append(templates, st.Template)
			ready = append(ready, int64(st.Ready))
		}
	}
	return templates, ready
}

// Stats reports each template's pool.
func (p *Pool) Stats() []pool.Stats { return p.p.Stats() }

// hold makes sandbox id the pool's, marked on disk before the runtime
// knows it. A marker that cannot be written fails the make: a sandbox
// the next start could not tell from a create's would outlive a crash.
func (p *Pool) hold(id string) error {
	if p.dir != "" {
		if err := os.WriteFile(filepath.Join(p.dir, id), nil, 0o600); err != nil {
			return fmt.Errorf("mark pooled sandbox: %w", err)
		}
	}
	p.mu.Lock()
	p.held[id] = true
	p.mu.Unlock()
	return nil
}

// ClaimGrace is how long after its claim the node lists a sandbox as
// just claimed (ClaimedAt). The control plane records a claimed sandbox
// in one write after the claim's answer; until then, its settling of a
// returning node, which destroys what the store does not record, must
// leave it be. A create that never records it (its control plane died)
// leaves it to the next settling past the grace.
const ClaimGrace = time.Minute

// ClaimedAt is when sandbox id was handed to a create, if within
// ClaimGrace; zero otherwise.
func (p *Pool) ClaimedAt(id string) time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	at, ok := p.claimed[id]
	if !ok {
		return time.Time{}
	}
	if time.Since(at) > ClaimGrace {
		delete(p.claimed, id)
		return time.Time{}
	}
	return at
}

// release lets sandbox id go: destroyed, or never made.
func (p *Pool) release(id string) {
	p.mu.Lock()
	delete(p.held, id)
	p.mu.Unlock()
	p.unmark(id)
}

// unmark removes sandbox id's marker: it is no longer the pool's.
func (p *Pool) unmark(id string) {
	if p.dir == "" {
		return
	}
	if err := os.Remove(filepath.Join(p.dir, id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		p.log.Warn("unmark pooled sandbox", "sandbox.id", id, "err", err)
	}
}

// ClaimedBy is the sandbox a claim with key was served within
// ClaimGrace, if any: a claim asked again after its answer was lost.
func (p *Pool) ClaimedBy(key string) (string, bool) {
	if key == "" {
		return "", false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	id, ok := p.keys[key]
	if !ok {
		return "", false
	}
	if at, ok := p.claimed[id]; !ok || time.Since(at) > ClaimGrace {
		delete(p.keys, key)
		return "", false
	}
	return id, true
}

// handOut hands sandbox id to a create, whose claim had key (or none):
// no longer the pool's, and claimed now.
func (p *Pool) handOut(id, key string) {
	p.unmark(id)
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.held, id)
	now := time.Now()
	for other, at := range p.claimed {
		if now.Sub(at) > ClaimGrace {
			delete(p.claimed, other)
		}
	}
	for k, other := range p.keys {
		if _, ok := p.claimed[other]; !ok {
			delete(p.keys, k)
		}
	}
	p.claimed[id] = now
	if key != "" {
		p.keys[key] = id
	}
}
