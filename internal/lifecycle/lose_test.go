package lifecycle_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/lifecycle"
	"github.com/soulbox/soulbox/internal/store"
)

// TestLose: a sandbox whose node is gone ends once, as lost with the
// message, without a call to its runtime (the node is not there to
// answer; it destroys the sandbox when it returns); it no longer counts
// among its team's live sandboxes, and its timeout does not end it again.
func TestLose(t *testing.T) {
	e := newEnv(t, 0)
	ctx := context.Background()
	sb, err := e.m.Create(ctx, lifecycle.CreateRequest{TemplateID: "base", Team: "t1", Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.driver.Destroy(context.Background(), sb.ID) })
	if err := e.m.Lose(ctx, sb.ID, "node n1 silent since then"); err != nil {
		t.Fatal(err)
	}
	if err := e.m.Lose(ctx, sb.ID, "again"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("losing an ended sandbox: %v, want not found", err)
	}
	time.Sleep(2 * time.Second) // past its timeout
	got, _ := e.st.GetSandbox(ctx, sb.ID)
	if got.State != store.StateEnded || got.EndReason != store.ReasonLost || got.EndMessage != "node n1 silent since then" {
		t.Errorf("after Lose: %s %s %q", got.State, got.EndReason, got.EndMessage)
	}
	if _, err := e.driver.Info(ctx, sb.ID); err != nil {
		t.Errorf("Lose called the runtime: %v", err)
	}
	if live, _ := e.st.ListSandboxes(ctx, store.SandboxFilter{States: store.LiveStates, Team: "t1"}); len(live) != 0 {
		t.Errorf("the team still has %d live sandboxes", len(live))
	}
	evs, _ := e.st.ListEvents(ctx, sb.ID)
	ends := 0
	for _, ev := range evs {
		if ev.Type == store.EventEnded {
			ends++
		}
	}
	if ends != 1 {
		t.Errorf("%d ended events, want 1: %+v", ends, evs)
	}
	if n := e.m.OpLocks(); n != 0 {
		t.Errorf("%d op locks left", n)
	}
}
