package lifecycle_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/lifecycle"
	"github.com/soulbox/soulbox/internal/runtime/oci"
	"github.com/soulbox/soulbox/internal/runtime/oci/ocitest"
	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/sqlite"
)

// TestReplicaTimeouts: two replicas' managers on one store. Only the one
// that leads fires timeouts, including those set through the other; a
// replica that leads no more fires none, and the one that takes over
// fires what is due, once.
func TestReplicaTimeouts(t *testing.T) {
	if testing.Short() {
		t.Skip("creates real sandboxes")
	}
	templates := ocitest.Templates(t)
	d, err := oci.New(oci.Config{Root: ocitest.Root(t), AgentPath: ocitest.AgentBinary(t), Templates: templates})
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	replica := func() *lifecycle.Manager {
		m := lifecycle.New(lifecycle.Config{Store: st, Driver: d, Templates: templates, SampleEvery: 100 * time.Millisecond,
			Replica: true, RearmEvery: 100 * time.Millisecond})
		t.Cleanup(m.Stop)
		return m
	}
	a, b := replica(), replica()
	ctx := context.Background()
	t.Cleanup(func() {
		live, _ := st.ListSandboxes(ctx, store.SandboxFilter{States: []store.SandboxState{store.StateRunning, store.StatePaused}})
		for _, sb := range live {
			_ = a.Kill(ctx, sb.ID, store.ReasonKilled, "test over")
		}
	})
	state := func(id string) store.SandboxState {
		sb, err := st.GetSandbox(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return sb.State
	}
	waitEnded := func(id string, within time.Duration) {
		t.Helper()
		deadline := time.Now().Add(within)
		for state(id) != store.StateEnded {
			if time.Now().After(deadline) {
				t.Fatalf("sandbox %s did not time out within %s", id, within)
			}
			time.Sleep(50 * time.Millisecond)
		}
		sb, _ := st.GetSandbox(ctx, id)
		if sb.EndReason != store.ReasonTimeout {
			t.Errorf("sandbox %s ended with %s, want timeout", id, sb.EndReason)
		}
	}

	// No one leads: a timeout is recorded, and nothing fires it.
	idle, err := b.Create(ctx, lifecycle.CreateRequest{TemplateID: "base", Timeout: time.Second, Team: "t"})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	if got := state(idle.ID); got != store.StateRunning {
		t.Fatalf("a timeout fired with no replica leading: %s", got)
	}

	// A leads: it fires what is due, and a timeout set through B.
	if err := a.Lead(ctx); err != nil {
		t.Fatal(err)
	}
	waitEnded(idle.ID, 10*time.Second)
	viaB, err := b.Create(ctx, lifecycle.CreateRequest{TemplateID: "base", Timeout: time.Hour, Team: "t"})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.SetTimeout(ctx, viaB.ID, time.Second); err != nil {
		t.Fatal(err)
	}
	waitEnded(viaB.ID, 10*time.Second)

	// A timeout armed by A, which stops leading before it is due: B,
	// leading from then on, fires it.
	handed, err := a.Create(ctx, lifecycle.CreateRequest{TemplateID: "base", Timeout: 2 * time.Second, Team: "t"})
	if err != nil {
		t.Fatal(err)
	}
	a.Unlead()
	if err := b.Lead(ctx); err != nil {
		t.Fatal(err)
	}
	waitEnded(handed.ID, 10*time.Second)

	time.Sleep(500 * time.Millisecond)
	for _, id := range []string{idle.ID, viaB.ID, handed.ID} {
		evs, err := st.ListEvents(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		ends := 0
		for _, ev := range evs {
			if ev.Type == store.EventEnded {
				ends++
			}
		}
		if ends != 1 {
			t.Errorf("sandbox %s ended %d times, want once", id, ends)
		}
	}

	// A manager of one process is no replica: Lead is refused.
	if err := lifecycle.New(lifecycle.Config{Store: st, Driver: d, Templates: templates}).Lead(ctx); err == nil {
		t.Error("Lead on a manager that is not a replica's succeeded")
	}
}
