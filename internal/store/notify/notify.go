// Package notify tells readers of a store's event log that events were
// recorded, so that they wait for a change instead of reading the log on
// a timer.
//
// It sees the writes made through its wrapper, in this process. A store
// shared with other processes (several servers on one PostgreSQL) is also
// written by them, so a reader still reads now and then without a
// notification (see Store.Changed).
package notify

import (
	"context"
	"sync"
	"time"

	"github.com/soulbox/soulbox/internal/store"
)

// Store is a store.Store that announces every event it records.
type Store struct {
	store.Store

	mu      sync.Mutex
	changed chan struct{} // closed at the next event, then replaced
}

// Wrap returns s announcing its events.
func Wrap(s store.Store) *Store {
	return &Store{Store: s, changed: make(chan struct{})}
}

var _ store.Store = (*Store)(nil)

// Changed returns a channel closed when the next event is recorded
// through this Store. Take it before reading the log: an event recorded
// between the read and the wait then still closes it.
func (s *Store) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

func (s *Store) announce(err error) error {
	if err == nil {
		s.mu.Lock()
		close(s.changed)
		s.changed = make(chan struct{})
		s.mu.Unlock()
	}
	return err
}

// CreateSandbox implements store.Store.
func (s *Store) CreateSandbox(ctx context.Context, sb store.Sandbox) error {
	return s.announce(s.Store.CreateSandbox(ctx, sb))
}

// SetState implements store.Store.
func (s *Store) SetState(ctx context.Context, id string, from []store.SandboxState, to store.SandboxState, ev store.Event) error {
	return s.announce(s.Store.SetState(ctx, id, from, to, ev))
}

// EndSandbox implements store.Store.
func (s *Store) EndSandbox(ctx context.Context, id string, reason store.EndReason, message string, at time.Time) error {
	return s.announce(s.Store.EndSandbox(ctx, id, reason, message, at))
}

// SetEndAt implements store.Store.
func (s *Store) SetEndAt(ctx context.Context, id string, at time.Time) error {
	return s.announce(s.Store.SetEndAt(ctx, id, at))
}

// MoveSandbox implements store.Store.
func (s *Store) MoveSandbox(ctx context.Context, id, from, to string, ev store.Event) error {
	return s.announce(s.Store.MoveSandbox(ctx, id, from, to, ev))
}

// SetNetwork implements store.Store.
func (s *Store) SetNetwork(ctx context.Context, id string, n store.NetworkConfig) error {
	return s.announce(s.Store.SetNetwork(ctx, id, n))
}
