package storetest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/soulbox/soulbox/internal/store"
)

var ignoreEventIDs = cmpopts.IgnoreFields(store.Event{}, "ID")

func (s *suite) testEvents(t *testing.T) {
	st := s.open(t)
	ctx := context.Background()
	a, b := sandbox("events-a"), sandbox("events-b")
	mustCreate(t, st, a)
	mustCreate(t, st, b)

	// Interleaved between two sandboxes, and with times that go backwards:
	// events come back in the order they were recorded, not by time.
	steps := []struct {
		id   string
		from []store.SandboxState
		to   store.SandboxState
		ev   store.Event
	}{
		{a.ID, fromStarting, store.StateRunning, store.Event{Type: store.EventStarted, Time: at(time.Minute)}},
		{b.ID, fromStarting, store.StateRunning, store.Event{Type: store.EventStarted, Time: at(time.Minute)}},
		{a.ID, fromRunning, store.StatePaused, store.Event{Type: store.EventPaused, Time: at(30 * time.Second), Message: "clock stepped back"}},
		{a.ID, fromPaused, store.StateRunning, store.Event{Type: store.EventResumed, Time: at(2 * time.Minute)}},
		{b.ID, fromRunning, store.StatePaused, store.Event{Type: store.EventPaused, Time: at(3 * time.Minute)}},
	}
	for _, step := range steps {
		if err := st.SetState(ctx, step.id, step.from, step.to, step.ev); err != nil {
			t.Fatalf("%s %s: %v", step.id, step.ev.Type, err)
		}
	}
	if err := st.EndSandbox(ctx, a.ID, store.ReasonOOM, "killed by the kernel", at(4*time.Minute)); err != nil {
		t.Fatal(err)
	}

	want := []store.Event{
		{SandboxID: a.ID, Type: store.EventCreated, Time: t0},
		{SandboxID: a.ID, Type: store.EventStarted, Time: at(time.Minute)},
		{SandboxID: a.ID, Type: store.EventPaused, Time: at(30 * time.Second), Message: "clock stepped back"},
		{SandboxID: a.ID, Type: store.EventResumed, Time: at(2 * time.Minute)},
	}
	got := mustEvents(t, st, a.ID)
	if len(got) != len(want)+1 {
		t.Fatalf("events of a: %v, want %d", eventTypes(got), len(want)+1)
	}
	if diff := cmp.Diff(want, got[:len(want)], ignoreEventIDs); diff != "" {
		t.Errorf("events of a (-want +got):\n%s", diff)
	}
	// The wording of the ended event's message is the store's; it must
	// carry the reason and the caller's message.
	end := got[len(got)-1]
	if end.Type != store.EventEnded || !end.Time.Equal(at(4*time.Minute)) || end.SandboxID != a.ID {
		t.Errorf("last event of a = %+v, want ended at %v", end, at(4*time.Minute))
	}
	if !strings.Contains(end.Message, string(store.ReasonOOM)) || !strings.Contains(end.Message, "killed by the kernel") {
		t.Errorf("ended event message %q, want the reason and the message", end.Message)
	}
	for i := 1; i < len(got); i++ {
		if got[i].ID <= got[i-1].ID {
			t.Errorf("event ids not increasing: %d then %d", got[i-1].ID, got[i].ID)
		}
	}

	gotB := mustEvents(t, st, b.ID)
	if diff := cmp.Diff([]string{store.EventCreated, store.EventStarted, store.EventPaused}, eventTypes(gotB)); diff != "" {
		t.Errorf("events of b (-want +got):\n%s", diff)
	}
	seen := map[int64]bool{}
	for _, e := range append(got, gotB...) {
		if seen[e.ID] {
			t.Errorf("event id %d appears twice", e.ID)
		}
		seen[e.ID] = true
	}
}

// A sandbox stored as running (taken from a warm pool) has both its
// created and its started event, from the one write.
func (s *suite) testCreateRunning(t *testing.T) {
	st := s.open(t)
	sb := sandbox("created-running")
	sb.State = store.StateRunning
	mustCreate(t, st, sb)
	if got := mustGet(t, st, sb.ID).State; got != store.StateRunning {
		t.Errorf("state %s, want running", got)
	}
	if diff := cmp.Diff([]string{store.EventCreated, store.EventStarted}, eventTypes(mustEvents(t, st, sb.ID))); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}
