// Package notify tells readers of a store's event log that events were
// recorded, so that they wait for a change instead of reading the log on
// a timer.
//
// It sees the writes made through its wrapper, in this process, and,
// through Follow, those of other processes sharing a store that tells
// of them (store.EventWatcher: PostgreSQL's LISTEN/NOTIFY). A reader
// still reads now and then without a notification, for what a watch
// broken meanwhile missed (see Store.Changed).
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

// Follow announces, until ctx ends, the events w tells of: those the
// other processes sharing the store record, which writes through this
// Store do not see.
func (s *Store) Follow(ctx context.Context, w store.EventWatcher) {
	w.WatchEvents(ctx, func() { _ = s.announce(nil) })
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

// CreateSandboxIf implements store.Store.
func (s *Store) CreateSandboxIf(ctx context.Context, sb store.Sandbox, admit func(store.TeamLoad) error) error {
	return s.announce(s.Store.CreateSandboxIf(ctx, sb, admit))
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
