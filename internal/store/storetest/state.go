package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
)

var (
	fromStarting = []store.SandboxState{store.StateStarting}
	fromRunning  = []store.SandboxState{store.StateRunning}
	fromPaused   = []store.SandboxState{store.StatePaused}
)

func (s *suite) testSetState(t *testing.T) {
	st := s.open(t)
	ctx := context.Background()
	sb := sandbox("cas")
	mustCreate(t, st, sb)

	steps := []struct {
		from []store.SandboxState
		to   store.SandboxState
		ev   store.Event
	}{
		{fromStarting, store.StateRunning, store.Event{Type: store.EventStarted, Time: at(time.Second), Message: "agent up"}},
		{fromRunning, store.StatePaused, store.Event{Type: store.EventPaused, Time: at(2 * time.Second), SandboxID: sb.ID}},
		// Several acceptable from states; the current one is among them.
		{[]store.SandboxState{store.StateStarting, store.StatePaused}, store.StateRunning,
			store.Event{Type: store.EventResumed, Time: at(3 * time.Second)}},
	}
	want := sb
	for _, step := range steps {
		if err := st.SetState(ctx, sb.ID, step.from, step.to, step.ev); err != nil {
			t.Fatalf("%s: %v", step.ev.Type, err)
		}
		want.State = step.to
		if want.StartedAt.IsZero() && step.to == store.StateRunning {
			want.StartedAt = step.ev.Time
		}
		if diff := cmp.Diff(want, mustGet(t, st, sb.ID)); diff != "" {
			t.Errorf("after %s (-want +got):\n%s", step.ev.Type, diff)
		}
	}
	// Resuming did not move StartedAt: it is the first start.
	if got := mustGet(t, st, sb.ID).StartedAt; !got.Equal(at(time.Second)) {
		t.Errorf("StartedAt = %v, want the first start %v", got, at(time.Second))
	}

	evs := mustEvents(t, st, sb.ID)
	wantEvs := []store.Event{{SandboxID: sb.ID, Type: store.EventCreated, Time: sb.CreatedAt}}
	for _, step := range steps {
		e := step.ev
		e.SandboxID = sb.ID
		wantEvs = append(wantEvs, e)
	}
	if diff := cmp.Diff(wantEvs, evs, ignoreEventIDs); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}

	t.Run("ZeroEventTimeIsNow", func(t *testing.T) {
		sb := sandbox("cas-now")
		mustCreate(t, st, sb)
		before := time.Now().Add(-time.Millisecond)
		if err := st.SetState(ctx, sb.ID, fromStarting, store.StateRunning, store.Event{Type: store.EventStarted}); err != nil {
			t.Fatal(err)
		}
		after := time.Now().Add(time.Millisecond)
		got := mustGet(t, st, sb.ID)
		if got.StartedAt.Before(before) || got.StartedAt.After(after) {
			t.Errorf("StartedAt = %v, want between %v and %v", got.StartedAt, before, after)
		}
		evs := mustEvents(t, st, sb.ID)
		if last := evs[len(evs)-1]; !last.Time.Equal(got.StartedAt) {
			t.Errorf("started event at %v, want StartedAt %v", last.Time, got.StartedAt)
		}
	})
	t.Run("SameState", func(t *testing.T) {
		// A transition to the state the sandbox is in is allowed: it is
		// how a caller records an event under the state's protection.
		sb := sandbox("cas-same")
		mustCreate(t, st, sb)
		if err := st.SetState(ctx, sb.ID, fromStarting, store.StateStarting, store.Event{Type: "retrying"}); err != nil {
			t.Fatal(err)
		}
		if got := eventTypes(mustEvents(t, st, sb.ID)); !cmp.Equal(got, []string{store.EventCreated, "retrying"}) {
			t.Errorf("events %v", got)
		}
	})
}

func (s *suite) testSetStateRefused(t *testing.T) {
	st := s.open(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		state store.SandboxState // the sandbox's state, made by the suite
		from  []store.SandboxState
		to    store.SandboxState
	}{
		{"StartingNotRunning", store.StateStarting, fromRunning, store.StatePaused},
		{"RunningNotStarting", store.StateRunning, fromStarting, store.StateRunning},
		{"RunningNotPausedOrStarting", store.StateRunning, []store.SandboxState{store.StatePaused, store.StateStarting}, store.StateRunning},
		{"PausedNotRunning", store.StatePaused, fromRunning, store.StatePaused},
		{"EndedIsTerminal", store.StateEnded, []store.SandboxState{store.StateStarting, store.StateRunning, store.StatePaused}, store.StateRunning},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sb := sandbox(tc.name)
			if tc.state != store.StateEnded {
				sb.State = tc.state
			}
			mustCreate(t, st, sb)
			if tc.state == store.StateEnded {
				if err := st.EndSandbox(ctx, sb.ID, store.ReasonKilled, "", at(time.Second)); err != nil {
					t.Fatal(err)
				}
			}
			before := mustGet(t, st, sb.ID)
			evsBefore := mustEvents(t, st, sb.ID)
			err := st.SetState(ctx, sb.ID, tc.from, tc.to, store.Event{Type: "should-not-be-recorded", Time: at(time.Hour)})
			wantErr(t, err, errdefs.ErrFailedPrecondition, "set state")
			if diff := cmp.Diff(before, mustGet(t, st, sb.ID)); diff != "" {
				t.Errorf("sandbox changed by a refused transition (-before +after):\n%s", diff)
			}
			if diff := cmp.Diff(evsBefore, mustEvents(t, st, sb.ID)); diff != "" {
				t.Errorf("events changed by a refused transition (-before +after):\n%s", diff)
			}
		})
	}
}

func (s *suite) testEnd(t *testing.T) {
	st := s.open(t)
	ctx := context.Background()
	reasons := []store.EndReason{store.ReasonKilled, store.ReasonTimeout, store.ReasonOOM, store.ReasonError, store.ReasonLost}
	states := []store.SandboxState{store.StateStarting, store.StateRunning, store.StatePaused}
	for i, reason := range reasons {
		for _, state := range states {
			t.Run(string(reason)+"/"+string(state), func(t *testing.T) {
				sb := sandbox(string(reason) + "-" + string(state))
				sb.State = state
				mustCreate(t, st, sb)
				endedAt := at(time.Duration(i+1) * time.Minute)
				msg := "because " + string(reason)
				if err := st.EndSandbox(ctx, sb.ID, reason, msg, endedAt); err != nil {
					t.Fatal(err)
				}
				want := sb
				want.State, want.EndReason, want.EndMessage, want.EndedAt = store.StateEnded, reason, msg, &endedAt
				if diff := cmp.Diff(want, mustGet(t, st, sb.ID)); diff != "" {
					t.Errorf("after end (-want +got):\n%s", diff)
				}
				evs := mustEvents(t, st, sb.ID)
				wantEvents := []string{store.EventCreated, store.EventEnded}
				if state == store.StateRunning { // created running: started too
					wantEvents = []string{store.EventCreated, store.EventStarted, store.EventEnded}
				}
				if got := eventTypes(evs); !cmp.Equal(got, wantEvents) {
					t.Fatalf("events %v, want %v", got, wantEvents)
				}
				if last := evs[len(evs)-1]; !last.Time.Equal(endedAt) || last.SandboxID != sb.ID {
					t.Errorf("ended event %+v, want at %v", last, endedAt)
				}
			})
		}
	}
	t.Run("EmptyMessage", func(t *testing.T) {
		sb := sandbox("no-message")
		mustCreate(t, st, sb)
		if err := st.EndSandbox(ctx, sb.ID, store.ReasonLost, "", at(time.Second)); err != nil {
			t.Fatal(err)
		}
		if got := mustGet(t, st, sb.ID); got.EndMessage != "" || got.EndReason != store.ReasonLost {
			t.Errorf("reason %q message %q, want lost and no message", got.EndReason, got.EndMessage)
		}
	})
	t.Run("ZeroTimeIsNow", func(t *testing.T) {
		sb := sandbox("ended-now")
		mustCreate(t, st, sb)
		before := time.Now().Add(-time.Millisecond)
		if err := st.EndSandbox(ctx, sb.ID, store.ReasonKilled, "", time.Time{}); err != nil {
			t.Fatal(err)
		}
		after := time.Now().Add(time.Millisecond)
		got := mustGet(t, st, sb.ID)
		if got.EndedAt == nil || got.EndedAt.Before(before) || got.EndedAt.After(after) {
			t.Errorf("EndedAt = %v, want between %v and %v", got.EndedAt, before, after)
		}
	})
}

func (s *suite) testEndTwice(t *testing.T) {
	st := s.open(t)
	ctx := context.Background()
	sb := sandbox("twice")
	mustCreate(t, st, sb)
	if err := st.EndSandbox(ctx, sb.ID, store.ReasonTimeout, "first", at(time.Minute)); err != nil {
		t.Fatal(err)
	}
	before := mustGet(t, st, sb.ID)
	evsBefore := mustEvents(t, st, sb.ID)
	for _, reason := range []store.EndReason{store.ReasonTimeout, store.ReasonKilled} {
		err := st.EndSandbox(ctx, sb.ID, reason, "second", at(time.Hour))
		wantErr(t, err, errdefs.ErrFailedPrecondition, "second end with "+string(reason))
	}
	if diff := cmp.Diff(before, mustGet(t, st, sb.ID)); diff != "" {
		t.Errorf("second end changed the sandbox (-first +now):\n%s", diff)
	}
	if diff := cmp.Diff(evsBefore, mustEvents(t, st, sb.ID)); diff != "" {
		t.Errorf("second end changed the events (-first +now):\n%s", diff)
	}
}

func (s *suite) testSetEndAt(t *testing.T) {
	st := s.open(t)
	ctx := context.Background()
	sb := sandbox("end-at")
	mustCreate(t, st, sb)
	for _, d := range []time.Duration{time.Hour, 30 * time.Minute} { // extend, then shorten
		if err := st.SetEndAt(ctx, sb.ID, at(d)); err != nil {
			t.Fatal(err)
		}
		if got := mustGet(t, st, sb.ID).EndAt; !got.Equal(at(d)) {
			t.Errorf("EndAt = %v, want %v", got, at(d))
		}
	}
	want := sb
	want.EndAt = at(30 * time.Minute)
	if diff := cmp.Diff(want, mustGet(t, st, sb.ID)); diff != "" {
		t.Errorf("SetEndAt changed more than EndAt (-want +got):\n%s", diff)
	}
	if got := eventTypes(mustEvents(t, st, sb.ID)); !cmp.Equal(got,
		[]string{store.EventCreated, store.EventTimeoutExtended, store.EventTimeoutExtended}) {
		t.Errorf("events %v, want created and two %s", got, store.EventTimeoutExtended)
	}

	t.Run("NoEndAtAtCreate", func(t *testing.T) {
		sb := sandbox("no-end-at")
		sb.EndAt = time.Time{}
		mustCreate(t, st, sb)
		if got := mustGet(t, st, sb.ID).EndAt; !got.IsZero() {
			t.Errorf("EndAt = %v, want zero", got)
		}
	})
	t.Run("Ended", func(t *testing.T) {
		sb := sandbox("end-at-ended")
		mustCreate(t, st, sb)
		if err := st.EndSandbox(ctx, sb.ID, store.ReasonKilled, "", at(time.Second)); err != nil {
			t.Fatal(err)
		}
		before := mustGet(t, st, sb.ID)
		nEvents := len(mustEvents(t, st, sb.ID))
		wantErr(t, st.SetEndAt(ctx, sb.ID, at(time.Hour)), errdefs.ErrFailedPrecondition, "set end time of an ended sandbox")
		if diff := cmp.Diff(before, mustGet(t, st, sb.ID)); diff != "" {
			t.Errorf("refused SetEndAt changed the sandbox (-before +after):\n%s", diff)
		}
		if n := len(mustEvents(t, st, sb.ID)); n != nEvents {
			t.Errorf("refused SetEndAt recorded an event: %d events, want %d", n, nEvents)
		}
	})
}
