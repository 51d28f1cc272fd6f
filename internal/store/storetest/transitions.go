package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
)

// testTransitions walks a sandbox through a pause and a resume with the
// states in between, running -> pausing -> paused -> resuming -> running,
// each step with its event; a step from the wrong state is refused and
// records nothing; the states in between are found by a filter, and
// ending a sandbox caught in one of them works.
func (s *suite) testTransitions(t *testing.T) {
	st := s.open(t)
	ctx := context.Background()
	sb := sandbox("walk")
	sb.State = store.StateRunning
	mustCreate(t, st, sb)

	steps := []struct {
		from, to store.SandboxState
		typ      string
	}{
		{store.StateRunning, store.StatePausing, store.EventPausing},
		{store.StatePausing, store.StatePaused, store.EventPaused},
		{store.StatePaused, store.StateResuming, store.EventResuming},
		{store.StateResuming, store.StateRunning, store.EventResumed},
	}
	for i, step := range steps {
		// The step after this one, tried too early, is refused.
		next := steps[(i+1)%len(steps)]
		err := st.SetState(ctx, sb.ID, []store.SandboxState{next.from}, next.to, store.Event{Type: next.typ})
		wantErr(t, err, errdefs.ErrFailedPrecondition, "step "+next.typ+" from "+string(step.from))

		ev := store.Event{Type: step.typ, Time: at(time.Duration(i+1) * time.Second), Message: "step " + step.typ}
		if err := st.SetState(ctx, sb.ID, []store.SandboxState{step.from}, step.to, ev); err != nil {
			t.Fatalf("%s -> %s: %v", step.from, step.to, err)
		}
		if got := mustGet(t, st, sb.ID); got.State != step.to {
			t.Fatalf("after %s: state %s, want %s", step.typ, got.State, step.to)
		}
		list, err := st.ListSandboxes(ctx, store.SandboxFilter{States: []store.SandboxState{step.to}})
		if err != nil || len(list) != 1 || list[0].ID != sb.ID {
			t.Errorf("list state %s: %v, %v; want %s", step.to, ids(list), err, sb.ID)
		}
	}
	evs := mustEvents(t, st, sb.ID)
	got := eventTypes(evs)
	want := []string{store.EventCreated, store.EventStarted, store.EventPausing, store.EventPaused, store.EventResuming, store.EventResumed}
	if len(got) != len(want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("events %v, want %v", got, want)
		}
	}
	if last := evs[len(evs)-1]; last.Message != "step resumed" || !last.Time.Equal(at(4*time.Second)) {
		t.Errorf("last event %+v", last)
	}

	// A sandbox caught pausing or resuming can be ended, with its reason.
	for _, mid := range []store.SandboxState{store.StatePausing, store.StateResuming} {
		sb := sandbox("end-" + string(mid))
		sb.State = mid
		mustCreate(t, st, sb)
		if err := st.EndSandbox(ctx, sb.ID, store.ReasonLost, "stopped while "+string(mid), at(time.Minute)); err != nil {
			t.Fatalf("end a sandbox %s: %v", mid, err)
		}
		if got := mustGet(t, st, sb.ID); got.State != store.StateEnded || got.EndMessage != "stopped while "+string(mid) {
			t.Errorf("ended from %s: %+v", mid, got)
		}
	}
}
