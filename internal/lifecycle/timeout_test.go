package lifecycle_test

import (
	"context"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
)

// A timeout set on a sandbox that is gone or has ended is not found (E2B's
// 404) and records nothing; on a live one it moves its end.
func TestSetTimeoutOnlyOnLiveSandboxes(t *testing.T) {
	e := newEnv(t, 0)
	ctx := context.Background()
	for _, sb := range []store.Sandbox{
		{ID: "live", TemplateID: "base", ClientID: "t", State: store.StateRunning, EndAt: time.Now().Add(time.Hour)},
		{ID: "ended", TemplateID: "base", ClientID: "t", State: store.StateRunning, EndAt: time.Now().Add(time.Hour)},
	} {
		if err := e.st.CreateSandbox(ctx, sb); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.st.EndSandbox(ctx, "ended", store.ReasonKilled, "", time.Now()); err != nil {
		t.Fatal(err)
	}
	before, err := e.st.ListEvents(ctx, "ended")
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"ended", "missing"} {
		if err := e.m.SetTimeout(ctx, id, time.Minute); !errdefs.IsNotFound(err) {
			t.Errorf("SetTimeout(%s) = %v, want not found", id, err)
		}
	}
	if after, _ := e.st.ListEvents(ctx, "ended"); len(after) != len(before) {
		t.Errorf("a timeout set on an ended sandbox recorded events: %+v", after[len(before):])
	}
	if err := e.m.SetTimeout(ctx, "live", time.Minute); err != nil {
		t.Fatal(err)
	}
	got, err := e.st.GetSandbox(ctx, "live")
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Until(got.EndAt); d < 50*time.Second || d > time.Minute {
		t.Errorf("live sandbox ends in %v, want about a minute", d)
	}
}
