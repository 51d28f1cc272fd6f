// Package keycache keeps recent API-key lookups in memory, so that
// authenticating a request does not read the store each time.
//
// A key revoked, renamed or whose team is deleted through the wrapped
// store is forgotten at once, in this process. A change made by another
// process (another server sharing PostgreSQL, `soulbox keys revoke` on
// the host) is seen when the cached record expires: within TTL.
package keycache

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/soulbox/soulbox/internal/store"
)

// DefaultTTL bounds how long a looked-up key is answered from memory:
// the longest a key revoked by another process keeps working here.
const DefaultTTL = 5 * time.Second

// maxEntries bounds the cache; past it, expired records are dropped, and
// if none were, all of them.
const maxEntries = 10000

// Store is a store.Store whose APIKeyByHash answers from memory for up
// to TTL.
type Store struct {
	store.Store
	ttl time.Duration
	now func() time.Time

	mu   sync.Mutex
	keys map[string]entry // key hash -> record
	// gen counts invalidations: a lookup that read the store before one
	// does not keep what it read.
	gen uint64
}

type entry struct {
	k  store.APIKey
	at time.Time
}

// Wrap returns s with key lookups cached for ttl (DefaultTTL if 0 or
// less).
func Wrap(s store.Store, ttl time.Duration) *Store {
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	return &Store{Store: s, ttl: ttl, now: time.Now, keys: map[string]entry{}}
}

var _ store.Store = (*Store)(nil)

// APIKeyByHash implements store.APIKeys from memory when it looked the
// key up less than TTL ago. Unknown keys are not cached: a key made
// elsewhere works at once.
func (s *Store) APIKeyByHash(ctx context.Context, hash string) (store.APIKey, error) {
	now := s.now()
	s.mu.Lock()
	e, ok := s.keys[hash]
	gen := s.gen
	s.mu.Unlock()
	if ok && now.Sub(e.at) < s.ttl {
		return clone(e.k), nil
	}
	k, err := s.Store.APIKeyByHash(ctx, hash)
	if err != nil {
		return k, err
	}
	s.mu.Lock()
	if s.gen == gen {
		if len(s.keys) >= maxEntries {
			s.sweep(now)
		}
		s.keys[hash] = entry{k: clone(k), at: now}
	}
	s.mu.Unlock()
	return k, nil
}

// sweep drops expired records, or all when none were. s.mu is held.
func (s *Store) sweep(now time.Time) {
	for h, e := range s.keys {
		if now.Sub(e.at) >= s.ttl {
			delete(s.keys, h)
		}
	}
	if len(s.keys) >= maxEntries {
		clear(s.keys)
	}
}

// forget drops the records match selects and stops lookups under way
// from keeping what they read.
func (s *Store) forget(match func(store.APIKey) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gen++
	for h, e := range s.keys {
		if match(e.k) {
			delete(s.keys, h)
		}
	}
}

// RevokeAPIKey implements store.APIKeys; the key is forgotten, whatever
// the store answered.
func (s *Store) RevokeAPIKey(ctx context.Context, id string, at time.Time) error {
	defer s.forget(func(k store.APIKey) bool { return k.ID == id })
	return s.Store.RevokeAPIKey(ctx, id, at)
}

// RenameAPIKey implements store.APIKeys; the key is forgotten.
func (s *Store) RenameAPIKey(ctx context.Context, team, id, name string) error {
	defer s.forget(func(k store.APIKey) bool { return k.ID == id })
	return s.Store.RenameAPIKey(ctx, team, id, name)
}

// DeleteTeam implements store.Teams; the team's keys are forgotten.
func (s *Store) DeleteTeam(ctx context.Context, id string, at time.Time) error {
	defer s.forget(func(k store.APIKey) bool { return k.Team == id })
	return s.Store.DeleteTeam(ctx, id, at)
}

// TouchAPIKey implements store.APIKeys; a cached record learns its last
// use, so that it is not written again within a minute.
func (s *Store) TouchAPIKey(ctx context.Context, id string, at time.Time) error {
	err := s.Store.TouchAPIKey(ctx, id, at)
	if err == nil {
		s.mu.Lock()
		for h, e := range s.keys {
			if e.k.ID == id {
				t := at
				e.k.LastUsedAt = &t
				s.keys[h] = e
			}
		}
		s.mu.Unlock()
	}
	return err
}

// clone copies k's slices and pointers, so that no caller shares them
// with the cache.
func clone(k store.APIKey) store.APIKey {
	k.Scopes = slices.Clone(k.Scopes)
	if k.LastUsedAt != nil {
		t := *k.LastUsedAt
		k.LastUsedAt = &t
	}
	if k.RevokedAt != nil {
		t := *k.RevokedAt
		k.RevokedAt = &t
	}
	return k
}
