package keycache

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/sqlite"
)

// open returns a cached store over a SQLite file, the clock it reads,
// and a second handle on the same file: another process.
func open(t *testing.T) (*Store, *time.Time, *sqlite.Store) {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "soulbox.db")
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	other, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	now := time.Now()
	s := Wrap(db, time.Second)
	s.now = func() time.Time { return now }
	for _, tm := range []string{"t1", "t2"} {
		if err := db.CreateTeam(ctx, store.Team{ID: tm, Name: tm}); err != nil {
			t.Fatal(err)
		}
	}
	return s, &now, other
}

func key(t *testing.T, st store.APIKeys, id, team string) store.APIKey {
	t.Helper()
	k := store.APIKey{ID: id, Name: id, Prefix: "e2b_" + id, Hash: "hash-" + id, Team: team, Role: store.RoleDeveloper, Scopes: []string{"sandboxes:use"}}
	if err := st.CreateAPIKey(context.Background(), k); err != nil {
		t.Fatal(err)
	}
	return k
}

func lookup(t *testing.T, s *Store, hash string) store.APIKey {
	t.Helper()
	k, err := s.APIKeyByHash(context.Background(), hash)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// A revocation by another process is seen once the cached record is
// TTL old, not before; a revocation, rename or team deletion through the
// cache is seen at once.
func TestInvalidation(t *testing.T) {
	ctx := context.Background()
	s, now, other := open(t)
	a, b, c, d := key(t, s, "a", "t1"), key(t, s, "b", "t1"), key(t, s, "c", "t2"), key(t, s, "d", "t1")
	for _, k := range []store.APIKey{a, b, c, d} {
		lookup(t, s, k.Hash)
	}

	if err := other.RevokeAPIKey(ctx, a.ID, time.Time{}); err != nil {
		t.Fatal(err)
	}
	*now = now.Add(999 * time.Millisecond)
	if k := lookup(t, s, a.Hash); k.RevokedAt != nil {
		t.Error("cached record re-read before its TTL")
	}
	*now = now.Add(time.Millisecond)
	if k := lookup(t, s, a.Hash); k.RevokedAt == nil {
		t.Error("a key revoked by another process still works after the TTL")
	}

	if err := s.RevokeAPIKey(ctx, b.ID, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if k := lookup(t, s, b.Hash); k.RevokedAt == nil {
		t.Error("a key revoked through the cache still works")
	}
	if err := s.RenameAPIKey(ctx, "t1", d.ID, "renamed"); err != nil {
		t.Fatal(err)
	}
	if k := lookup(t, s, d.Hash); k.Name != "renamed" {
		t.Errorf("renamed key reads %q", k.Name)
	}
	if err := s.DeleteTeam(ctx, "t2", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if k := lookup(t, s, c.Hash); k.RevokedAt == nil {
		t.Error("a key of a deleted team still works")
	}
	// A key made elsewhere works at once: misses are not cached.
	if _, err := s.APIKeyByHash(ctx, "hash-e"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("unknown key: %v", err)
	}
	e := key(t, other, "e", "t1")
	lookup(t, s, e.Hash)
}

// A caller changing what it got does not change the cache; a touch
// updates the cached last use.
func TestCopies(t *testing.T) {
	s, _, _ := open(t)
	k := key(t, s, "a", "t1")
	got := lookup(t, s, k.Hash)
	got.Scopes[0] = "changed"
	if again := lookup(t, s, k.Hash); again.Scopes[0] != "sandboxes:use" {
		t.Errorf("cache shares its scopes: %v", again.Scopes)
	}
	at := time.Now().Truncate(time.Microsecond)
	if err := s.TouchAPIKey(context.Background(), k.ID, at); err != nil {
		t.Fatal(err)
	}
	if again := lookup(t, s, k.Hash); again.LastUsedAt == nil || !again.LastUsedAt.Equal(at) {
		t.Errorf("last use after a touch: %v", again.LastUsedAt)
	}
}

// A lookup that read the store before a revocation does not put the
// unrevoked record back (run with -race).
func TestLookupRacingRevoke(t *testing.T) {
	ctx := context.Background()
	s, _, _ := open(t)
	var keys []store.APIKey
	for _, id := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
		keys = append(keys, key(t, s, id, "t1"))
	}
	var wg sync.WaitGroup
	for _, k := range keys {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for range 20 {
				_, _ = s.APIKeyByHash(ctx, k.Hash)
			}
		}()
		go func() {
			defer wg.Done()
			if err := s.RevokeAPIKey(ctx, k.ID, time.Time{}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	for _, k := range keys {
		if got := lookup(t, s, k.Hash); got.RevokedAt == nil {
			t.Errorf("key %s revoked, but the cache answers it unrevoked", k.ID)
		}
	}
}
