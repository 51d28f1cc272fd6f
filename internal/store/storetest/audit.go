package storetest

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/soulbox/soulbox/internal/store"
)

func (s *suite) testAudit(t *testing.T) {
	ctx := context.Background()
	st := s.open(t)
	key := []byte("0123456789abcdef0123456789abcdef")
	if anchor, err := st.AuditAnchor(ctx); err != nil || anchor != (store.AuditAnchorPoint{}) {
		t.Fatalf("anchor of a new log: %+v, %v", anchor, err)
	}
	var written []store.AuditEntry
	for i, team := range []string{"a", "b", "a", ""} {
		e, err := st.AppendAudit(ctx, key, store.AuditEntry{Time: at(time.Duration(i) * time.Minute), Team: team, KeyID: "k-" + team,
			Action: "POST /sandboxes", Target: "/sandboxes", Remote: "127.0.0.1:1", Status: 201})
		if err != nil {
			t.Fatal(err)
		}
		written = append(written, e)
	}
	for i, e := range written {
		prev := ""
		if i > 0 {
			prev = written[i-1].Hash
		}
		if e.ID != int64(i+1) || e.PrevHash != prev || e.Hash != store.AuditHash(key, e) {
			t.Errorf("entry %d: id %d, prev %q (want %q), hash %q (want %q)", i, e.ID, e.PrevHash, prev, e.Hash, store.AuditHash(key, e))
		}
	}
	list, err := st.ListAudit(ctx, store.AuditFilter{})
	if err != nil || len(list) != 4 {
		t.Fatalf("list: %d, %v", len(list), err)
	}
	for i := range list {
		if list[i] != written[i] {
			t.Errorf("listed %+v, written %+v", list[i], written[i])
		}
	}
	if got, _ := st.ListAudit(ctx, store.AuditFilter{Team: "a"}); len(got) != 2 || got[1].ID != 3 {
		t.Errorf("team a's entries: %+v", got)
	}
	if got, _ := st.ListAudit(ctx, store.AuditFilter{Since: at(2 * time.Minute)}); len(got) != 2 || got[0].ID != 3 {
		t.Errorf("entries since +2m: %+v", got)
	}
	if got, _ := st.ListAudit(ctx, store.AuditFilter{AfterID: 1, Limit: 2}); len(got) != 2 || got[0].ID != 2 {
		t.Errorf("entries after 1, 2 of them: %+v", got)
	}

	// Pruning keeps an unbroken chain from the anchor.
	n, err := st.PruneAudit(ctx, at(2*time.Minute))
	if err != nil || n != 2 {
		t.Fatalf("prune: %d, %v", n, err)
	}
	if anchor, _ := st.AuditAnchor(ctx); anchor != (store.AuditAnchorPoint{LastID: 2, Hash: written[1].Hash}) {
		t.Errorf("anchor %+v, want the last pruned entry, 2 %q", anchor, written[1].Hash)
	}
	if got, _ := st.ListAudit(ctx, store.AuditFilter{}); len(got) != 2 || got[0].PrevHash != written[1].Hash {
		t.Errorf("after prune: %+v", got)
	}
	// Pruning everything, then appending: ids go on, the chain too.
	if n, err := st.PruneAudit(ctx, at(time.Hour)); err != nil || n != 2 {
		t.Fatalf("prune all: %d, %v", n, err)
	}
	e, err := st.AppendAudit(ctx, key, store.AuditEntry{Action: "DELETE /sandboxes/{id}", Status: 204})
	if err != nil || e.ID != 5 || e.PrevHash != written[3].Hash {
		t.Errorf("append after pruning all: %+v, %v; want id 5 after %q", e, err, written[3].Hash)
	}
	if n, _ := st.PruneAudit(ctx, at(-time.Hour)); n != 0 {
		t.Errorf("prune of nothing deleted %d", n)
	}

	// A request's path is recorded even with a NUL or broken UTF-8 in
	// it, repaired the same way by every backend, and hashed as kept.
	odd, err := st.AppendAudit(ctx, key, store.AuditEntry{Action: "authenticate", Target: "/sandboxes/a\x00b\xff", Status: 401})
	if err != nil || odd.Target != "/sandboxes/ab\uFFFD" || odd.Hash != store.AuditHash(key, odd) {
		t.Errorf("entry with a NUL and invalid UTF-8: %+v, %v", odd, err)
	}
	// A long path or message is cut before it is hashed: a client cannot
	// make an entry longer than MaxAuditText per field.
	long, err := st.AppendAudit(ctx, key, store.AuditEntry{Action: "POST authenticate", Target: "/" + strings.Repeat("é", 300<<10),
		Message: strings.Repeat("m", 100<<10), Status: 401})
	if err != nil || len(long.Target) > store.MaxAuditText || len(long.Message) > store.MaxAuditText ||
		!utf8.ValidString(long.Target) || long.Hash != store.AuditHash(key, long) {
		t.Errorf("long entry: target %d bytes, message %d bytes, %v", len(long.Target), len(long.Message), err)
	}
	if got, _ := st.ListAudit(ctx, store.AuditFilter{AfterID: long.ID - 1, Limit: 1}); len(got) != 1 || got[0] != long {
		t.Errorf("long entry kept as %+v", got)
	}
	// The same entry under another key has another hash.
	if store.AuditHash([]byte("another key, another hash........"), long) == long.Hash {
		t.Error("the hash does not depend on the key")
	}

	// Appends from many writers at once form one chain: no two entries
	// follow the same one.
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := st.AppendAudit(ctx, key, store.AuditEntry{Action: "POST /sandboxes", Status: 201}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	all, err := st.ListAudit(ctx, store.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(all); i++ {
		if all[i].PrevHash != all[i-1].Hash || all[i].ID != all[i-1].ID+1 {
			t.Fatalf("entry %d does not follow entry %d: the chain forked under concurrent appends", all[i].ID, all[i-1].ID)
		}
	}
}
