package audit

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/sqlite"
)

// tamperLog writes n entries, the first half older than a day, and
// returns the store, its database opened directly, and the entries.
func tamperLog(t *testing.T, n int) (*sqlite.Store, *sql.DB, []store.AuditEntry) {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "soulbox.db")
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	var out []store.AuditEntry
	for i := range n {
		at := time.Now()
		if i < n/2 {
			at = at.Add(-48 * time.Hour)
		}
		e, err := st.AppendAudit(ctx, testKey, store.AuditEntry{Time: at, Team: "t", Action: "POST /sandboxes", Target: "/sandboxes", Status: 201})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if res, err := Verify(ctx, st, testKey); err != nil || !res.OK() || res.HeadID != int64(n) {
		t.Fatalf("verify of an untouched log: %+v, %v", res, err)
	}
	return st, db, out
}

func exec(t *testing.T, db *sql.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.Exec(q, args...); err != nil {
		t.Fatal(err)
	}
}

// TestVerifyFindsTampering: what someone who can write the database but
// not read the audit key can do, and what Verify says of it.
func TestVerifyFindsTampering(t *testing.T) {
	ctx := context.Background()

	t.Run("edit and rehash", func(t *testing.T) {
		// Entry 1 edited and every later hash recomputed with the
		// store's own function, but without the key.
		st, db, es := tamperLog(t, 4)
		prev := ""
		for i, e := range es {
			if i == 0 {
				e.Status = 500
			}
			e.PrevHash = prev
			e.Hash = store.AuditHash(nil, e)
			exec(t, db, `UPDATE audit SET status = ?, prev_hash = ?, hash = ? WHERE id = ?`, e.Status, e.PrevHash, e.Hash, e.ID)
			prev = e.Hash
		}
		res, err := Verify(ctx, st, testKey)
		if err != nil || res.OK() || res.BadID != 1 || !strings.Contains(res.Problem, "changed after it was written") {
			t.Errorf("verify: %+v, %v; want entry 1 named", res, err)
		}
	})

	t.Run("cut the start and move the anchor", func(t *testing.T) {
		st, db, es := tamperLog(t, 4)
		exec(t, db, `DELETE FROM audit WHERE id <= 2`)
		exec(t, db, `INSERT INTO audit_anchor (one, last_id, hash) VALUES (1, 2, ?)`, es[1].Hash)
		res, err := Verify(ctx, st, testKey)
		if err != nil || res.OK() || !strings.Contains(res.Problem, "no prune entry records it") {
			t.Errorf("verify: %+v, %v; want the deletion found", res, err)
		}
		// An anchor only pointing at the hash, its id left behind.
		exec(t, db, `UPDATE audit_anchor SET last_id = 1`)
		res, err = Verify(ctx, st, testKey)
		if err != nil || res.OK() || res.BadID != 3 || !strings.Contains(res.Problem, "anchor says entry 1") {
			t.Errorf("verify with the anchor's id behind: %+v, %v", res, err)
		}
	})

	t.Run("cut more than the retention did", func(t *testing.T) {
		// A real prune, then a few more entries deleted with the anchor
		// moved past them.
		st, db, es := tamperLog(t, 6)
		rc := New(st, testKey, 24*time.Hour, nil)
		if err := rc.Record(ctx, store.AuditEntry{Action: "DELETE /sandboxes/{id}", Status: 204}); err != nil {
			t.Fatal(err)
		}
		if res, err := Verify(ctx, st, testKey); err != nil || !res.OK() {
			t.Fatalf("verify after a real prune: %+v, %v", res, err)
		}
		exec(t, db, `DELETE FROM audit WHERE id <= 4`)
		exec(t, db, `UPDATE audit_anchor SET last_id = 4, hash = ?`, es[3].Hash)
		res, err := Verify(ctx, st, testKey)
		if err != nil || res.OK() || !strings.Contains(res.Problem, "no prune entry records it") {
			t.Errorf("verify: %+v, %v; want the deletion found", res, err)
		}
	})

	t.Run("cut the end", func(t *testing.T) {
		// Undetectable in the database alone; found against a head
		// recorded before.
		st, db, _ := tamperLog(t, 4)
		before, _ := Verify(ctx, st, testKey)
		exec(t, db, `DELETE FROM audit WHERE id >= 3`)
		res, err := Verify(ctx, st, testKey)
		if err != nil || !res.OK() || res.HeadID != 2 {
			t.Fatalf("verify: %+v, %v", res, err)
		}
		problem, err := ExpectHead(ctx, st, res, "4:"+before.Head)
		if err != nil || !strings.Contains(problem, "removed from its end") {
			t.Errorf("expect head: %q, %v; want the cut found", problem, err)
		}
		// A head recorded earlier still in the log passes.
		all, _ := st.ListAudit(ctx, store.AuditFilter{})
		if problem, err := ExpectHead(ctx, st, res, "1:"+all[0].Hash); err != nil || problem != "" {
			t.Errorf("expect an earlier head: %q, %v", problem, err)
		}
	})

	t.Run("another key", func(t *testing.T) {
		st, _, _ := tamperLog(t, 2)
		res, err := Verify(ctx, st, []byte("another key of thirty-two bytes!"))
		if err != nil || res.OK() || res.BadID != 1 {
			t.Errorf("verify under another key: %+v, %v", res, err)
		}
	})
}

// TestLoadKey: the key is made once, kept 0600, and refused if others
// may read it.
func TestLoadKey(t *testing.T) {
	dir := t.TempDir()
	k1, err := LoadKey(dir)
	if err != nil || len(k1) != 32 {
		t.Fatalf("first load: %d bytes, %v", len(k1), err)
	}
	k2, err := LoadKey(dir)
	if err != nil || string(k1) != string(k2) {
		t.Fatalf("second load gave another key: %v", err)
	}
	path := filepath.Join(dir, KeyFile)
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadKey(dir); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("a group-readable key: %v, want a refusal", err)
	}
	if _, err := ReadKey(t.TempDir()); err == nil {
		t.Error("ReadKey of a missing key succeeded")
	}
}
