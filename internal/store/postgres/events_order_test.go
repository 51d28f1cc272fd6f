package postgres

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/postgres/pgtest"
)

// TestEventsAfterCommitOrder: of two transactions recording events, the
// first to insert commits last. A reader tailing by id (EventsAfter, as
// the SSE stream does with Last-Event-ID) that reads while the first is
// still open must still get its event afterwards: ids are visible in the
// order they were given, never a lower one after a higher one.
func TestEventsAfterCommitOrder(t *testing.T) {
	c := pgtest.Start(t)
	s := openURL(t, c.NewDatabase(t))
	ctx := context.Background()
	for _, id := range []string{"first", "second"} {
		if err := s.CreateSandbox(ctx, store.Sandbox{ID: id, TemplateID: "base", State: store.StateRunning}); err != nil {
			t.Fatal(err)
		}
	}
	seen := tail(t, s, 0)

	// The first transaction records its event, then stays open.
	inserted, commit, firstDone := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		firstDone <- s.write(ctx, func(tx pgx.Tx) error {
			if err := insertEvent(ctx, tx, "first", s.now(), "checkpointed", "first"); err != nil {
				return err
			}
			close(inserted)
			<-commit
			return nil
		})
	}()
	<-inserted
	// The second records its event meanwhile: it either commits or waits
	// for the first.
	secondDone := make(chan error, 1)
	go func() {
		secondDone <- s.SetEndAt(ctx, "second", time.Now().Add(time.Hour))
	}()
	if err := waitDoneOrLocked(s, secondDone); err != nil {
		t.Fatal(err)
	}
	// A reader reads now, while the first is uncommitted.
	seen = append(seen, tail(t, s, last(seen))...)
	close(commit)
	if err := <-firstDone; err != nil {
		t.Fatal(err)
	}
	if err := <-secondDone; err != nil {
		t.Fatal(err)
	}
	seen = append(seen, tail(t, s, last(seen))...)
	all, err := s.EventsAfter(ctx, store.EventFilter{Limit: store.MaxEventsLimit})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := describe(seen), describe(all); got != want {
		t.Errorf("a reader tailing by id saw\n%s\nbut the log holds\n%s", got, want)
	}
}

// tail reads the events after id, as a stream's reader would.
func tail(t *testing.T, s *Store, after int64) []store.Event {
	t.Helper()
	evs, err := s.EventsAfter(context.Background(), store.EventFilter{After: after, Limit: store.MaxEventsLimit})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func last(evs []store.Event) int64 {
	if len(evs) == 0 {
		return 0
	}
	return evs[len(evs)-1].ID
}

func describe(evs []store.Event) string {
	var out string
	for _, e := range evs {
		out += fmt.Sprintf("  %d %s %s\n", e.ID, e.SandboxID, e.Type)
	}
	return out
}

// waitDoneOrLocked waits until done reports (and puts its error back
// for a later receive, nil meaning done) or a session of s waits for a
// lock.
func waitDoneOrLocked(s *Store, done chan error) error {
	for {
		select {
		case err := <-done:
			done <- nil
			return err
		default:
		}
		var n int
		if err := s.pool.QueryRow(context.Background(), `SELECT COUNT(*) FROM pg_stat_activity
			WHERE wait_event_type = 'Lock' AND datname = current_database()`).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
}
