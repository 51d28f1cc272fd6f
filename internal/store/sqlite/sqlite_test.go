package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
)

// Every test closes what it opens; a pool left open shows up here as a
// leaked goroutine.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func openAt(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	return s
}

func TestSurvivesReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "soulbox.db")
	s := openAt(t, path)
	created := time.Date(2025, 1, 2, 3, 4, 5, 6_000, time.UTC)
	sb := store.Sandbox{
		ID: "persist", TemplateID: "base", State: store.StateStarting, CreatedAt: created,
		Metadata: map[string]string{"k": "v"}, EnvdAccessToken: "secret", EndAt: created.Add(time.Hour),
	}
	if err := s.CreateSandbox(ctx, sb); err != nil {
		t.Fatal(err)
	}
	if err := s.SetState(ctx, sb.ID, []store.SandboxState{store.StateStarting}, store.StateRunning,
		store.Event{Type: store.EventStarted, Time: created.Add(time.Second)}); err != nil {
		t.Fatal(err)
	}
	if err := s.EndSandbox(ctx, sb.ID, store.ReasonTimeout, "ran out", created.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	want := sb
	ended := created.Add(time.Hour)
	want.State, want.StartedAt, want.EndReason, want.EndMessage, want.EndedAt =
		store.StateEnded, created.Add(time.Second), store.ReasonTimeout, "ran out", &ended
	wantEvents, err := s.ListEvents(ctx, sb.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openAt(t, path)
	defer s.Close()
	got, err := s.GetSandbox(ctx, sb.ID)
	if err != nil {
		t.Fatal(err)
	}
	// Microseconds are this backend's precision: they survive too.
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("after reopen (-want +got):\n%s", diff)
	}
	gotEvents, err := s.ListEvents(ctx, sb.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wantEvents, gotEvents); diff != "" {
		t.Errorf("events after reopen (-want +got):\n%s", diff)
	}
	// Event ids keep growing after a reopen.
	if err := s.CreateSandbox(ctx, store.Sandbox{ID: "second", TemplateID: "base", State: store.StateStarting}); err != nil {
		t.Fatal(err)
	}
	evs, err := s.ListEvents(ctx, "second")
	if err != nil {
		t.Fatal(err)
	}
	if last := gotEvents[len(gotEvents)-1].ID; evs[0].ID <= last {
		t.Errorf("event id %d after reopen, want more than %d", evs[0].ID, last)
	}
}

func TestFileModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "soulbox")
	path := filepath.Join(dir, "soulbox.db")
	s := openAt(t, path)
	defer s.Close()
	// Write something so the WAL exists too.
	if err := s.CreateSandbox(context.Background(), store.Sandbox{ID: "x", TemplateID: "base", State: store.StateStarting}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path string
		want os.FileMode
	}{
		{dir, os.ModeDir | 0o700},
		{path, 0o600},
		{path + "-wal", 0o600},
		{path + "-shm", 0o600},
	} {
		fi, err := os.Stat(tc.path)
		if err != nil {
			t.Error(err)
			continue
		}
		if fi.Mode() != tc.want {
			t.Errorf("%s: mode %v, want %v", tc.path, fi.Mode(), tc.want)
		}
	}
}

func TestExistingFileModeKept(t *testing.T) {
	// An operator's choice of mode for an existing file is theirs.
	path := filepath.Join(t.TempDir(), "soulbox.db")
	if err := os.WriteFile(path, nil, 0o640); err != nil {
		t.Fatal(err)
	}
	openAt(t, path).Close()
	if fi, err := os.Stat(path); err != nil || fi.Mode() != 0o640 {
		t.Errorf("mode of an existing file: %v, %v; want 0640 kept", fi.Mode(), err)
	}
}

func TestPragmas(t *testing.T) {
	s := openAt(t, filepath.Join(t.TempDir(), "soulbox.db"))
	defer s.Close()
	ctx := context.Background()
	for _, pool := range []struct {
		name string
		db   *sql.DB
	}{{"writer", s.w}, {"reader", s.r}} {
		for _, tc := range []struct {
			pragma, want string
		}{
			{"journal_mode", "wal"},
			{"busy_timeout", "5000"},
			{"foreign_keys", "1"},
			{"synchronous", "2"}, // FULL
		} {
			var got string
			if err := pool.db.QueryRowContext(ctx, "PRAGMA "+tc.pragma).Scan(&got); err != nil {
				t.Fatalf("%s: %s: %v", pool.name, tc.pragma, err)
			}
			if got != tc.want {
				t.Errorf("%s: %s = %s, want %s", pool.name, tc.pragma, got, tc.want)
			}
		}
	}
	// The read pool cannot write: a write there would bypass the writer's
	// queue.
	if _, err := s.r.ExecContext(ctx, `DELETE FROM sandboxes`); err == nil {
		t.Error("a write through the read pool succeeded")
	}
}

func TestMigrationVersionRecorded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "soulbox.db")
	migs, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	latest := migs[len(migs)-1].version
	for range 2 { // a second open applies nothing and records nothing
		s := openAt(t, path)
		var versions []int
		rows, err := s.r.QueryContext(context.Background(), `SELECT version FROM schema_migrations ORDER BY version`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var v int
			if err := rows.Scan(&v); err != nil {
				t.Fatal(err)
			}
			versions = append(versions, v)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
		s.Close()
		var want []int
		for v := 1; v <= latest; v++ {
			want = append(want, v)
		}
		if diff := cmp.Diff(want, versions); diff != "" {
			t.Errorf("recorded versions (-want +got):\n%s", diff)
		}
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "soulbox.db")
	s := openAt(t, path)
	migs, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	newer := migs[len(migs)-1].version + 1
	// What a newer binary would leave behind.
	if _, err := s.w.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, 0)`, newer); err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.ExecContext(ctx, `CREATE TABLE from_the_future (x)`); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s, err = Open(ctx, path)
	if err == nil {
		s.Close()
		t.Fatal("open of a database with a newer schema succeeded")
	}
	if !errors.Is(err, errdefs.ErrFailedPrecondition) {
		t.Errorf("open: %v, want failed precondition", err)
	}
	t.Logf("refused with: %v", err)
}

func TestConcurrentOpenMigratesOnce(t *testing.T) {
	// Two servers started at once on a new file (a mistake, but a possible
	// one) must not both apply a migration.
	path := filepath.Join(t.TempDir(), "soulbox.db")
	errs := make(chan error, 4)
	stores := make(chan *Store, 4)
	for range 4 {
		go func() {
			s, err := Open(context.Background(), path)
			errs <- err
			stores <- s
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Errorf("open: %v", err)
		}
		if s := <-stores; s != nil {
			s.Close()
		}
	}
}

func TestOpenBadPath(t *testing.T) {
	ctx := context.Background()
	if _, err := Open(ctx, ""); !errdefs.IsInvalidArgument(err) {
		t.Errorf("open with an empty path: %v, want invalid argument", err)
	}
	notDB := filepath.Join(t.TempDir(), "not.db")
	if err := os.WriteFile(notDB, []byte("this is not a database, just some text long enough to look at"), 0o600); err != nil {
		t.Fatal(err)
	}
	if s, err := Open(ctx, notDB); err == nil {
		s.Close()
		t.Error("open of a file that is not a database succeeded")
	}
	// A path with the characters that mean something in a URI.
	odd := filepath.Join(t.TempDir(), "a?b#c%20d.db")
	openAt(t, odd).Close()
	if _, err := os.Stat(odd); err != nil {
		t.Errorf("database not at its path: %v", err)
	}
}

func TestCloseTwice(t *testing.T) {
	s := openAt(t, filepath.Join(t.TempDir(), "soulbox.db"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second close: %v", err)
	}
	if _, err := s.GetSandbox(context.Background(), "x"); err == nil {
		t.Error("get after close succeeded")
	}
}
