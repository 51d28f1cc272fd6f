// Package sandboxcache keeps recently read sandbox records in memory, so
// that the requests that name one sandbox (get it, set its timeout, read
// its metrics, send it traffic through the proxy) do not each read the
// store for it.
//
// Every change to a sandbox made through the wrapped store (created,
// moved to another state or node, ended, rescheduled, its network replaced) drops
// its record at once, in this process, and a read that was under way when
// the change was made does not keep what it read. No other process
// changes sandbox records today: no command of the CLI does, a second
// server with an embedded node on one PostgreSQL is refused, and
// control-plane replicas, which share one, do not use this cache. A
// change made by another process sharing the database would be seen when
// the cached record expires: within TTL.
package sandboxcache

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/soulbox/soulbox/internal/store"
)

// DefaultTTL bounds how long a sandbox record is answered from memory:
// the longest a change made by another process sharing the database
// would go unseen here.
const DefaultTTL = time.Second

// maxEntries bounds the cache; past it, expired records are dropped, and
// if none were, all of them.
const maxEntries = 10000

// Store is a store.Store whose GetSandbox answers from memory for up to
// TTL.
type Store struct {
	store.Store
	ttl time.Duration
	now func() time.Time

	mu  sync.Mutex
	sbs map[string]entry
	// gen counts changes. A read notes it before reading the store and
	// keeps what it read only if its sandbox changed before that.
	gen uint64
	// clearedAt is the gen of the last change that dropped every record.
	clearedAt uint64
}

// entry is a cached record, or, when dropped, only the mark of the last
// change. The mark is carried forward by every record stored after it and
// never reset, so a read that started before a change never replaces a
// record read after it.
type entry struct {
	sb      store.Sandbox
	ok      bool      // sb is a record to answer with; false after a change
	at      time.Time // when the read that got sb, or the change, happened
	changed uint64    // gen of the sandbox's last change through this Store
}

// Wrap returns s with sandbox reads cached for ttl (DefaultTTL if 0 or
// less).
func Wrap(s store.Store, ttl time.Duration) *Store {
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	return &Store{Store: s, ttl: ttl, now: time.Now, sbs: map[string]entry{}}
}

var _ store.Store = (*Store)(nil)

// GetSandbox implements store.Store from memory when the sandbox was read
// less than TTL ago and has not changed through this Store since. Unknown
// sandboxes are not cached.
func (s *Store) GetSandbox(ctx context.Context, id string) (store.Sandbox, error) {
	if err := ctx.Err(); err != nil {
		return store.Sandbox{}, fmt.Errorf("get sandbox %q: %w", id, err)
	}
	now := s.now()
	s.mu.Lock()
	e, ok := s.sbs[id]
	gen := s.gen
	s.mu.Unlock()
	if ok && e.ok && now.Sub(e.at) < s.ttl {
		return clone(e.sb), nil
	}
	sb, err := s.Store.GetSandbox(ctx, id)
	if err != nil {
		return sb, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.clearedAt > gen {
		return sb, nil
	}
	e, ok = s.sbs[id]
	if ok && e.changed > gen {
		// Changed while this read was under way: what it read may be
		// from before, and a record stored since by a read that started
		// after the change is fresher.
		return sb, nil
	}
	if len(s.sbs) >= maxEntries {
		s.sweep(now)
	}
	s.sbs[id] = entry{sb: clone(sb), ok: true, at: now, changed: e.changed}
	return sb, nil
}

// sweep drops expired records and marks, or all when none were. s.mu is
// held. A mark older than TTL may go: a read that started before it
// keeps a record that is already expired. An entry whose mark a read
// started after the change carried forward is younger than its read.
func (s *Store) sweep(now time.Time) {
	for id, e := range s.sbs {
		if now.Sub(e.at) >= s.ttl {
			delete(s.sbs, id)
		}
	}
	if len(s.sbs) >= maxEntries {
		clear(s.sbs)
		s.clearedAt = s.gen
	}
}

// drop forgets sandbox id and stops reads under way from keeping what
// they read.
func (s *Store) drop(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gen++
	s.sbs[id] = entry{at: s.now(), changed: s.gen}
}

// dropAll forgets every sandbox and stops reads under way from keeping
// what they read.
func (s *Store) dropAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gen++
	clear(s.sbs)
	s.clearedAt = s.gen
}

// CreateSandbox implements store.Store; a record of the id read before
// is forgotten.
func (s *Store) CreateSandbox(ctx context.Context, sb store.Sandbox) error {
	defer s.drop(sb.ID)
	return s.Store.CreateSandbox(ctx, sb)
}

// CreateSandboxIf implements store.Store as CreateSandbox.
func (s *Store) CreateSandboxIf(ctx context.Context, sb store.Sandbox, admit func(store.TeamLoad) error) error {
	defer s.drop(sb.ID)
	return s.Store.CreateSandboxIf(ctx, sb, admit)
}

// SetState implements store.Store; the sandbox is forgotten, whatever the
// store answered.
func (s *Store) SetState(ctx context.Context, id string, from []store.SandboxState, to store.SandboxState, ev store.Event) error {
	defer s.drop(id)
	return s.Store.SetState(ctx, id, from, to, ev)
}

// EndSandbox implements store.Store; the sandbox is forgotten.
func (s *Store) EndSandbox(ctx context.Context, id string, reason store.EndReason, message string, at time.Time) error {
	defer s.drop(id)
	return s.Store.EndSandbox(ctx, id, reason, message, at)
}

// SetEndAt implements store.Store; the sandbox is forgotten.
func (s *Store) SetEndAt(ctx context.Context, id string, at time.Time) error {
	defer s.drop(id)
	return s.Store.SetEndAt(ctx, id, at)
}

// MoveSandbox implements store.Store; the sandbox is forgotten.
func (s *Store) MoveSandbox(ctx context.Context, id, from, to string, ev store.Event) error {
	defer s.drop(id)
	return s.Store.MoveSandbox(ctx, id, from, to, ev)
}

// SetNetwork implements store.Store; the sandbox is forgotten.
func (s *Store) SetNetwork(ctx context.Context, id string, n store.NetworkConfig) error {
	defer s.drop(id)
	return s.Store.SetNetwork(ctx, id, n)
}

// DeleteTeam implements store.Teams; every sandbox is forgotten.
func (s *Store) DeleteTeam(ctx context.Context, id string, at time.Time) error {
	defer s.dropAll()
	return s.Store.DeleteTeam(ctx, id, at)
}

// clone copies sb's maps, slices and pointers, so that no caller shares
// them with the cache.
func clone(sb store.Sandbox) store.Sandbox {
	sb.Metadata = maps.Clone(sb.Metadata)
	sb.EnvVars = maps.Clone(sb.EnvVars)
	if sb.EndedAt != nil {
		t := *sb.EndedAt
		sb.EndedAt = &t
	}
	if sb.Network != nil {
		n := *sb.Network
		n.AllowOut = slices.Clone(n.AllowOut)
		n.DenyOut = slices.Clone(n.DenyOut)
		sb.Network = &n
	}
	return sb
}
