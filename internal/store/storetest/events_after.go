package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
)

// testEventsAfter: the event log read across sandboxes, resumed from an
// event id, one team's only, in pages.
func (s *suite) testEventsAfter(t *testing.T) {
	st := s.open(t)
	ctx := context.Background()
	if evs, err := st.EventsAfter(ctx, store.EventFilter{Limit: 10}); err != nil || len(evs) != 0 {
		t.Fatalf("EventsAfter on an empty store = %v, %v", evs, err)
	}
	a, b := sandbox("after-a"), sandbox("after-b")
	b.ClientID = "client-2"
	mustCreate(t, st, a) // created
	mustCreate(t, st, b) // created
	if err := st.SetState(ctx, a.ID, fromStarting, store.StateRunning, store.Event{Type: store.EventStarted, Time: at(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if err := st.EndSandbox(ctx, b.ID, store.ReasonKilled, "by the test", at(2*time.Minute)); err != nil {
		t.Fatal(err)
	}

	all, err := st.EventsAfter(ctx, store.EventFilter{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	type seen struct{ id, typ string }
	var got []seen
	for i, ev := range all {
		got = append(got, seen{ev.SandboxID, ev.Type})
		if i > 0 && ev.ID <= all[i-1].ID {
			t.Errorf("ids not increasing: %d after %d", ev.ID, all[i-1].ID)
		}
	}
	want := []seen{{a.ID, store.EventCreated}, {b.ID, store.EventCreated}, {a.ID, store.EventStarted}, {b.ID, store.EventEnded}}
	if len(got) != len(want) {
		t.Fatalf("every event: %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("event %d: %v, want %v", i, got[i], want[i])
		}
	}
	if !all[2].Time.Equal(at(time.Minute)) {
		t.Errorf("started at %v, want %v", all[2].Time, at(time.Minute))
	}

	// Resumed after the second event, in pages of one.
	page, err := st.EventsAfter(ctx, store.EventFilter{After: all[1].ID, Limit: 1})
	if err != nil || len(page) != 1 || page[0].ID != all[2].ID {
		t.Errorf("after %d, limit 1 = %v, %v; want event %d", all[1].ID, page, err, all[2].ID)
	}
	if rest, err := st.EventsAfter(ctx, store.EventFilter{After: all[3].ID, Limit: 10}); err != nil || len(rest) != 0 {
		t.Errorf("after the last event = %v, %v", rest, err)
	}

	// One team's events only.
	team, err := st.EventsAfter(ctx, store.EventFilter{Team: "client-2", Limit: 10})
	if err != nil || len(team) != 2 || team[0].SandboxID != b.ID || team[1].Type != store.EventEnded {
		t.Errorf("client-2's events = %v, %v", team, err)
	}
	if none, err := st.EventsAfter(ctx, store.EventFilter{Team: "nobody", Limit: 10}); err != nil || len(none) != 0 {
		t.Errorf("an unknown team's events = %v, %v", none, err)
	}

	for _, f := range []store.EventFilter{{After: -1, Limit: 10}, {Limit: 0}, {Limit: store.MaxEventsLimit + 1}} {
		if _, err := st.EventsAfter(ctx, f); !errdefs.IsInvalidArgument(err) {
			t.Errorf("EventsAfter(%+v) = %v, want invalid argument", f, err)
		}
	}
}
