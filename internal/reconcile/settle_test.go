package reconcile_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/soulbox/soulbox/internal/reconcile"
	"github.com/soulbox/soulbox/internal/runtime"
	"github.com/soulbox/soulbox/internal/runtime/oci"
	"github.com/soulbox/soulbox/internal/runtime/oci/ocitest"
	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/sqlite"
)

// TestRunSettlesTransitions finds sandboxes the store has pausing or
// resuming, as a server stopped mid-pause or mid-resume leaves them, with
// real sandboxes in each runtime state, and checks that each ends in a
// defined state with an event giving the reason.
func TestRunSettlesTransitions(t *testing.T) {
	if testing.Short() {
		t.Skip("creates real sandboxes")
	}
	ctx := context.Background()
	d, err := oci.New(oci.Config{Root: ocitest.Root(t), AgentPath: ocitest.AgentBinary(t), Templates: ocitest.Templates(t)})
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "soulbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	checkpoints := t.TempDir()

	// record stores id as running, then as mid-way to state mid.
	record := func(id string, mid store.SandboxState) {
		t.Helper()
		if err := st.CreateSandbox(ctx, store.Sandbox{ID: id, TemplateID: "base", State: store.StateRunning}); err != nil {
			t.Fatal(err)
		}
		steps := [][2]string{{string(store.StatePausing), store.EventPausing}}
		if mid == store.StateResuming {
			steps = append(steps, [2]string{string(store.StatePaused), store.EventPaused}, [2]string{string(store.StateResuming), store.EventResuming})
		}
		from := store.StateRunning
		for _, step := range steps {
			to := store.SandboxState(step[0])
			if err := st.SetState(ctx, id, []store.SandboxState{from}, to, store.Event{Type: step[1]}); err != nil {
				t.Fatal(err)
			}
			from = to
		}
	}
	run := func(id string) {
		t.Helper()
		if _, err := d.Create(ctx, runtime.Spec{ID: id, Template: "base"}); err != nil {
			t.Fatal(err)
		}
		if err := d.Start(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	do := func(act func(context.Context, string) error, id string) {
		t.Helper()
		if err := act(ctx, id); err != nil {
			t.Fatal(err)
		}
	}

	want := map[string]struct {
		state  store.SandboxState
		status runtime.Status
		reason string // in the last event's message
	}{
		"p-running":      {store.StateRunning, runtime.StatusRunning, "before it took"},
		"p-frozen":       {store.StateRunning, runtime.StatusRunning, "before it took"},
		"p-checkpointed": {store.StatePaused, runtime.StatusStopped, "after its checkpoint completed"},
		"p-stopped":      {store.StatePaused, runtime.StatusStopped, "filesystem only"},
		"r-running":      {store.StateRunning, runtime.StatusRunning, "resumed"},
		"r-stopped":      {store.StatePaused, runtime.StatusStopped, "paused again"},
	}
	record("p-running", store.StatePausing) // the checkpoint had not begun
	run("p-running")
	record("p-frozen", store.StatePausing) // frozen for the dump
	run("p-frozen")
	do(d.Pause, "p-frozen")
	record("p-checkpointed", store.StatePausing) // complete checkpoint, processes gone
	run("p-checkpointed")
	do(d.Stop, "p-checkpointed")
	if err := os.Mkdir(filepath.Join(checkpoints, "p-checkpointed"), 0o700); err != nil {
		t.Fatal(err)
	}
	record("p-stopped", store.StatePausing) // processes gone, only a partial checkpoint
	run("p-stopped")
	do(d.Stop, "p-stopped")
	if err := os.Mkdir(filepath.Join(checkpoints, "p-stopped.partial"), 0o700); err != nil {
		t.Fatal(err)
	}
	record("r-running", store.StateResuming) // restored, not yet recorded
	run("r-running")
	record("r-stopped", store.StateResuming) // restore not begun
	run("r-stopped")
	do(d.Stop, "r-stopped")
	record("p-gone", store.StatePausing) // not in the runtime at all: lost
	record("r-gone", store.StateResuming)
	rep, err := reconcile.Run(ctx, st, d, slog.New(slog.DiscardHandler), checkpoints)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Failed) > 0 || len(rep.Orphans) > 0 {
		t.Errorf("failed %v orphans %v", rep.Failed, rep.Orphans)
	}
	slices.Sort(rep.Lost)
	if !slices.Equal(rep.Lost, []string{"p-gone", "r-gone"}) {
		t.Errorf("lost %v, want p-gone and r-gone", rep.Lost)
	}
	for id, w := range want {
		sb, err := st.GetSandbox(ctx, id)
		if err != nil || sb.State != w.state {
			t.Errorf("%s: state %s (%v), want %s", id, sb.State, err, w.state)
			continue
		}
		evs, _ := st.ListEvents(ctx, id)
		last := evs[len(evs)-1]
		wantType := store.EventResumed
		if w.state == store.StatePaused {
			wantType = store.EventPaused
		}
		if last.Type != wantType || !strings.Contains(last.Message, w.reason) {
			t.Errorf("%s: last event %s %q, want %s saying %q", id, last.Type, last.Message, wantType, w.reason)
		}
		if info, err := d.Info(ctx, id); err != nil || info.Status != w.status {
			t.Errorf("%s: runtime has it %s (%v), want %s", id, info.Status, err, w.status)
		}
	}
	for _, id := range []string{"p-gone", "r-gone"} {
		sb, err := st.GetSandbox(ctx, id)
		if err != nil || sb.State != store.StateEnded || sb.EndReason != store.ReasonLost || !strings.Contains(sb.EndMessage, "store said") {
			t.Errorf("%s: %+v %v, want ended lost with the reason", id, sb, err)
		}
	}

	// A second run finds everything settled.
	rep, err = reconcile.Run(ctx, st, d, slog.New(slog.DiscardHandler), checkpoints)
	if err != nil || len(rep.Lost)+len(rep.Orphans)+len(rep.Failed) > 0 || len(rep.Adopted) != len(want) {
		t.Errorf("second run: %+v %v", rep, err)
	}
	for id := range want {
		if err := d.Destroy(ctx, id); err != nil {
			t.Error(err)
		}
	}
}
