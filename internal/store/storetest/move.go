package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
)

// testMoveSandbox: a sandbox resuming on node-a is recorded on node-b
// with the event in one step; one that is not resuming, or not on the
// node named, is refused and left as it was, events included.
func (s *suite) testMoveSandbox(t *testing.T) {
	st := s.open(t)
	ctx := context.Background()
	sb := sandbox("moving")
	sb.Node = "node-a"
	if err := st.CreateSandbox(ctx, sb); err != nil {
		t.Fatal(err)
	}
	step := func(from, to store.SandboxState, typ string, d time.Duration) {
		t.Helper()
		if err := st.SetState(ctx, "moving", []store.SandboxState{from}, to, store.Event{Type: typ, Time: at(d)}); err != nil {
			t.Fatal(err)
		}
	}
	step(store.StateStarting, store.StateRunning, store.EventStarted, time.Second)
	step(store.StateRunning, store.StatePausing, store.EventPausing, 2*time.Second)
	step(store.StatePausing, store.StatePaused, store.EventPaused, 3*time.Second)
	ev := store.Event{Type: store.EventResuming, Message: "moved to node-b", Time: at(5 * time.Second)}
	// Paused, not resuming: refused.
	if err := st.MoveSandbox(ctx, "moving", "node-a", "node-b", ev); !errdefs.IsFailedPrecondition(err) {
		t.Errorf("move of a paused sandbox = %v, want failed precondition", err)
	}
	step(store.StatePaused, store.StateResuming, store.EventResuming, 4*time.Second)
	// Not on the node named: refused.
	if err := st.MoveSandbox(ctx, "moving", "node-c", "node-b", ev); !errdefs.IsFailedPrecondition(err) {
		t.Errorf("move from the wrong node = %v, want failed precondition", err)
	}
	if err := st.MoveSandbox(ctx, "moving", "node-a", "", ev); !errdefs.IsInvalidArgument(err) {
		t.Errorf("move to the embedded node = %v, want invalid argument", err)
	}
	evs, err := st.ListEvents(ctx, "moving")
	if err != nil {
		t.Fatal(err)
	}
	before := len(evs)
	if got, _ := st.GetSandbox(ctx, "moving"); got.Node != "node-a" {
		t.Fatalf("refused moves changed the node to %q", got.Node)
	}
	if err := st.MoveSandbox(ctx, "moving", "node-a", "node-b", ev); err != nil {
		t.Fatal(err)
	}
	got, err := st.GetSandbox(ctx, "moving")
	if err != nil || got.Node != "node-b" || got.State != store.StateResuming {
		t.Errorf("after the move: %+v, %v; want resuming on node-b", got, err)
	}
	evs, err = st.ListEvents(ctx, "moving")
	if err != nil || len(evs) != before+1 || evs[len(evs)-1].Message != "moved to node-b" {
		t.Errorf("events after the move: %+v, %v", evs, err)
	}
	if err := st.MoveSandbox(ctx, "missing", "node-a", "node-b", ev); !errdefs.IsNotFound(err) {
		t.Errorf("move of an unknown sandbox = %v, want not found", err)
	}
}
