package reconcile_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"slices"
	"testing"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/reconcile"
	"github.com/soulbox/soulbox/internal/runtime"
	"github.com/soulbox/soulbox/internal/runtime/oci"
	"github.com/soulbox/soulbox/internal/runtime/oci/ocitest"
	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/sqlite"
)

func TestMain(m *testing.M) { ocitest.Main(m) }

// TestRun sets up every disagreement a crash can leave between the store
// and the runtime, with real sandboxes, and checks what reconciliation
// makes of each.
func TestRun(t *testing.T) {
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

	record := func(id string, state store.SandboxState) {
		t.Helper()
		if err := st.CreateSandbox(ctx, store.Sandbox{ID: id, TemplateID: "base", State: store.StateStarting}); err != nil {
			t.Fatal(err)
		}
		if state != store.StateStarting {
			if err := st.SetState(ctx, id, []store.SandboxState{store.StateStarting}, store.StateRunning, store.Event{Type: store.EventStarted}); err != nil {
				t.Fatal(err)
			}
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

	record("alive", store.StateRunning) // running in both: adopted
	run("alive")
	record("paused", store.StateRunning) // paused in both: adopted as paused
	run("paused")
	if err := d.Pause(ctx, "paused"); err != nil {
		t.Fatal(err)
	}
	if err := st.SetState(ctx, "paused", []store.SandboxState{store.StateRunning}, store.StatePaused, store.Event{Type: store.EventPaused}); err != nil {
		t.Fatal(err)
	}
	// A pause and a resume are recorded before the runtime acts; the
	// server died in between: the act is completed.
	record("pausing", store.StateRunning)
	run("pausing")
	if err := st.SetState(ctx, "pausing", []store.SandboxState{store.StateRunning}, store.StatePaused, store.Event{Type: store.EventPaused}); err != nil {
		t.Fatal(err)
	}
	record("resuming", store.StateRunning)
	run("resuming")
	if err := d.Pause(ctx, "resuming"); err != nil {
		t.Fatal(err)
	}
	record("vanished", store.StateRunning) // gone from the runtime: lost
	record("dead", store.StateRunning)     // its processes died: lost and destroyed
	run("dead")
	if err := d.Stop(ctx, "dead"); err != nil {
		t.Fatal(err)
	}
	record("halfway", store.StateStarting) // the server died while creating it: lost and destroyed
	run("halfway")
	run("orphan") // unknown to the store: destroyed

	rep, err := reconcile.Run(ctx, st, d, slog.New(slog.DiscardHandler), "")
	if err != nil {
		t.Fatal(err)
	}
	sortAll := func(s []string) []string { slices.Sort(s); return s }
	if got := sortAll(rep.Adopted); !slices.Equal(got, []string{"alive", "paused", "pausing", "resuming"}) {
		t.Errorf("adopted %v", got)
	}
	if got := sortAll(rep.Lost); !slices.Equal(got, []string{"dead", "halfway", "vanished"}) {
		t.Errorf("lost %v", got)
	}
	if !slices.Equal(rep.Orphans, []string{"orphan"}) || len(rep.Failed) > 0 {
		t.Errorf("orphans %v failed %v", rep.Orphans, rep.Failed)
	}

	for id, want := range map[string]store.SandboxState{"alive": store.StateRunning, "paused": store.StatePaused,
		"pausing": store.StatePaused, "resuming": store.StateRunning} {
		sb, err := st.GetSandbox(ctx, id)
		if err != nil || sb.State != want {
			t.Errorf("%s: state %s (%v), want %s", id, sb.State, err, want)
		}
		wantStatus := runtime.StatusRunning
		if want == store.StatePaused {
			wantStatus = runtime.StatusPaused
		}
		if info, err := d.Info(ctx, id); err != nil || info.Status != wantStatus {
			t.Errorf("%s after reconcile: runtime says %+v %v, want %s", id, info, err, wantStatus)
		}
	}
	for _, id := range []string{"vanished", "dead", "halfway"} {
		sb, err := st.GetSandbox(ctx, id)
		if err != nil || sb.State != store.StateEnded || sb.EndReason != store.ReasonLost || sb.EndMessage == "" || sb.EndedAt == nil {
			t.Errorf("%s: %+v %v, want ended with reason lost and a message", id, sb, err)
		}
		evs, _ := st.ListEvents(ctx, id)
		if len(evs) == 0 || evs[len(evs)-1].Type != store.EventEnded {
			t.Errorf("%s: no ended event in %+v", id, evs)
		}
	}
	for _, id := range []string{"dead", "halfway", "orphan"} {
		if _, err := d.Info(ctx, id); !errdefs.IsNotFound(err) {
			t.Errorf("%s still in the runtime: %v", id, err)
		}
		for _, l := range d.Leftovers(ctx, id) {
			t.Errorf("%s left %s", id, l)
		}
	}

	// A second run finds nothing to do.
	rep, err = reconcile.Run(ctx, st, d, slog.New(slog.DiscardHandler), "")
	if err != nil || len(rep.Lost)+len(rep.Orphans)+len(rep.Failed) > 0 || len(rep.Adopted) != 4 {
		t.Errorf("second run: %+v %v", rep, err)
	}
	for _, id := range []string{"alive", "paused", "pausing", "resuming"} {
		if err := d.Destroy(ctx, id); err != nil {
			t.Error(err)
		}
	}
}
