package storetest

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/google/go-cmp/cmp"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
)

// testConcurrentLifecycles runs whole lifecycles side by side, with readers
// listing all the while: every write must succeed (no "database is locked"),
// and every sandbox must end up with exactly its own history.
func (s *suite) testConcurrentLifecycles(t *testing.T) {
	st := s.open(t)
	ctx := context.Background()
	const n = 50
	var g errgroup.Group
	for i := range n {
		g.Go(func() error {
			sb := sandbox(id("life", i))
			if err := st.CreateSandbox(ctx, sb); err != nil {
				return err
			}
			for _, step := range []struct {
				from []store.SandboxState
				to   store.SandboxState
				typ  string
			}{
				{fromStarting, store.StateRunning, store.EventStarted},
				{fromRunning, store.StatePaused, store.EventPaused},
				{fromPaused, store.StateRunning, store.EventResumed},
			} {
				if err := st.SetState(ctx, sb.ID, step.from, step.to, store.Event{Type: step.typ}); err != nil {
					return err
				}
			}
			if err := st.SetEndAt(ctx, sb.ID, at(time.Hour)); err != nil {
				return err
			}
			if _, err := st.GetSandbox(ctx, sb.ID); err != nil {
				return err
			}
			return st.EndSandbox(ctx, sb.ID, store.ReasonKilled, "", time.Time{})
		})
	}
	stop := make(chan struct{})
	var readers errgroup.Group
	for range 4 {
		readers.Go(func() error {
			for {
				select {
				case <-stop:
					return nil
				default:
				}
				if _, err := st.ListSandboxes(ctx, store.SandboxFilter{States: fromRunning}); err != nil {
					return err
				}
				time.Sleep(time.Millisecond) // leave the CPU to the writers
			}
		})
	}
	err := g.Wait()
	close(stop)
	if err != nil {
		t.Fatalf("concurrent lifecycle: %v", err)
	}
	if err := readers.Wait(); err != nil {
		t.Fatalf("concurrent list: %v", err)
	}

	list, err := st.ListSandboxes(ctx, store.SandboxFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != n {
		t.Fatalf("%d sandboxes, want %d", len(list), n)
	}
	want := []string{store.EventCreated, store.EventStarted, store.EventPaused, store.EventResumed,
		store.EventTimeoutExtended, store.EventEnded}
	for _, sb := range list {
		if sb.State != store.StateEnded || sb.EndReason != store.ReasonKilled {
			t.Errorf("%s: state %s reason %q, want ended, killed", sb.ID, sb.State, sb.EndReason)
		}
		evs := mustEvents(t, st, sb.ID)
		if diff := cmp.Diff(want, eventTypes(evs)); diff != "" {
			t.Errorf("%s events (-want +got):\n%s", sb.ID, diff)
		}
		for _, e := range evs {
			if e.SandboxID != sb.ID {
				t.Errorf("%s has an event of %s", sb.ID, e.SandboxID)
			}
		}
	}
}

// race runs f n times at once, released together, and counts the calls that
// succeeded. Every failure must be ErrFailedPrecondition: losing the race.
func race(t *testing.T, n int, f func() error) int {
	t.Helper()
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		won   atomic.Int32
		errs  = make(chan error, n)
	)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if err := f(); err != nil {
				errs <- err
				return
			}
			won.Add(1)
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		wantErr(t, err, errdefs.ErrFailedPrecondition, "losing the race")
	}
	return int(won.Load())
}

func (s *suite) testConcurrentCAS(t *testing.T) {
	st := s.open(t)
	ctx := context.Background()
	sb := sandbox("contended")
	mustCreate(t, st, sb)
	// Everyone tries starting -> running; one wins, the rest see running.
	if won := race(t, 20, func() error {
		return st.SetState(ctx, sb.ID, fromStarting, store.StateRunning, store.Event{Type: store.EventStarted})
	}); won != 1 {
		t.Errorf("%d transitions from starting won, want exactly 1", won)
	}
	// Half pause, half resume: every success flips the state, so they
	// alternate and the events must alternate the same way.
	var flip atomic.Int32
	race(t, 40, func() error {
		if flip.Add(1)%2 == 0 {
			return st.SetState(ctx, sb.ID, fromRunning, store.StatePaused, store.Event{Type: store.EventPaused})
		}
		return st.SetState(ctx, sb.ID, fromPaused, store.StateRunning, store.Event{Type: store.EventResumed})
	})
	evs := mustEvents(t, st, sb.ID)
	types := eventTypes(evs)
	if diff := cmp.Diff([]string{store.EventCreated, store.EventStarted}, types[:2]); diff != "" {
		t.Fatalf("first events (-want +got):\n%s", diff)
	}
	state := store.StateRunning
	for _, typ := range types[2:] {
		switch {
		case state == store.StateRunning && typ == store.EventPaused:
			state = store.StatePaused
		case state == store.StatePaused && typ == store.EventResumed:
			state = store.StateRunning
		default:
			t.Fatalf("event %s while %s: the compare-and-set let two writers through; events %v", typ, state, types)
		}
	}
	if got := mustGet(t, st, sb.ID).State; got != state {
		t.Errorf("state %s, but the events end in %s", got, state)
	}
}

func (s *suite) testConcurrentEnd(t *testing.T) {
	st := s.open(t)
	ctx := context.Background()
	sb := sandbox("ended-by-many")
	mustCreate(t, st, sb)
	reasons := []store.EndReason{store.ReasonKilled, store.ReasonTimeout, store.ReasonOOM, store.ReasonError, store.ReasonLost}
	var i atomic.Int32
	if won := race(t, 25, func() error {
		return st.EndSandbox(ctx, sb.ID, reasons[int(i.Add(1))%len(reasons)], "", time.Time{})
	}); won != 1 {
		t.Errorf("%d ends won, want exactly 1", won)
	}
	if got := eventTypes(mustEvents(t, st, sb.ID)); !cmp.Equal(got, []string{store.EventCreated, store.EventEnded}) {
		t.Errorf("events %v, want one created and one ended", got)
	}
}
