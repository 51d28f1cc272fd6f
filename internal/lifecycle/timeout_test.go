package lifecycle_test

import (
	"context"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/lifecycle"
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

// A timeout that fires while a long snapshot, fork or pause holds the
// sandbox's lock past the timer's deadline still ends the sandbox once
// the lock is free: the failed end is tried again, never dropped.
func TestTimeoutDuringHeldLockStillEnds(t *testing.T) {
	restore := lifecycle.SetExpireTiming(time.Second, 500*time.Millisecond)
	defer restore()
	e := newEnv(t, 0)
	ctx := context.Background()
	sb, err := e.m.Create(ctx, lifecycle.CreateRequest{TemplateID: "base", Timeout: 30 * time.Second, Team: "t"})
	if err != nil {
		t.Fatal(err)
	}
	release := e.m.HoldOpLock(sb.ID)
	if err := e.m.SetTimeout(ctx, sb.ID, time.Second); err != nil {
		release()
		t.Fatal(err)
	}
	// The timer fires at 1 s and its end waits for the lock past its
	// deadline (1 s more).
	time.Sleep(3 * time.Second)
	if got, _ := e.st.GetSandbox(ctx, sb.ID); got.State != store.StateRunning {
		release()
		t.Fatalf("ended (%s) while the lock was held", got.State)
	}
	release()
	deadline := time.Now().Add(15 * time.Second)
	for {
		got, _ := e.st.GetSandbox(ctx, sb.ID)
		if got.State == store.StateEnded {
			if got.EndReason != store.ReasonTimeout {
				t.Errorf("ended with %s, want timeout", got.EndReason)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sandbox past its end still %s after the lock was released", got.State)
		}
		time.Sleep(50 * time.Millisecond)
	}
	waitGone(t, e, sb.ID)
}
