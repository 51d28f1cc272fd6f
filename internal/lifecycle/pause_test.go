package lifecycle_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/lifecycle"
	"github.com/soulbox/soulbox/internal/runtime"
	"github.com/soulbox/soulbox/internal/runtime/oci"
	"github.com/soulbox/soulbox/internal/runtime/oci/ocitest"
	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/sqlite"
)

// observingDriver is the real driver, noting what the store says when the
// runtime is asked to pause or resume, and failing those acts on request.
type observingDriver struct {
	*oci.Driver
	st   store.Store
	seen []store.SandboxState
	fail bool
}

func (d *observingDriver) observe(ctx context.Context, id string) error {
	sb, _ := d.st.GetSandbox(ctx, id)
	d.seen = append(d.seen, sb.State)
	if d.fail {
		return errors.New("injected runtime failure")
	}
	return nil
}

func (d *observingDriver) Checkpoint(ctx context.Context, id, dir string) error {
	if err := d.observe(ctx, id); err != nil {
		return err
	}
	return d.Driver.Checkpoint(ctx, id, dir)
}

func (d *observingDriver) Recreate(ctx context.Context, id string) error {
	if err := d.observe(ctx, id); err != nil {
		return err
	}
	return d.Driver.Recreate(ctx, id)
}

func (d *observingDriver) Restore(ctx context.Context, id, dir string) error {
	if err := d.observe(ctx, id); err != nil {
		return err
	}
	return d.Driver.Restore(ctx, id, dir)
}

// TestPauseResumeRecordFirst: the store records a pause or resume under
// way (pausing, resuming) before the runtime is asked to do it, and its
// end (paused, running) once the runtime has, each with its event (a
// crash in between is settled by reconciliation); a runtime that refuses
// leaves the record as it was.
func TestPauseResumeRecordFirst(t *testing.T) {
	if testing.Short() {
		t.Skip("creates real sandboxes")
	}
	ctx := context.Background()
	templates := ocitest.Templates(t)
	real, err := oci.New(oci.Config{Root: ocitest.Root(t), AgentPath: ocitest.AgentBinary(t), Templates: templates})
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	d := &observingDriver{Driver: real, st: st}
	m := lifecycle.New(lifecycle.Config{Store: st, Driver: d, Templates: templates, CheckpointDir: t.TempDir()})
	sb, err := m.Create(ctx, lifecycle.CreateRequest{TemplateID: "base", Team: "t"})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Kill(ctx, sb.ID, store.ReasonKilled, "test over")

	if err := m.Pause(ctx, sb.ID, true); err != nil {
		t.Fatal(err)
	}
	if _, _, err := m.Connect(ctx, sb.ID, 0); err != nil {
		t.Fatal(err)
	}
	if len(d.seen) != 2 || d.seen[0] != store.StatePausing || d.seen[1] != store.StateResuming {
		t.Errorf("the runtime acted while the store said %v, want [pausing resuming] (recorded first)", d.seen)
	}
	evs, _ := st.ListEvents(ctx, sb.ID)
	var types []string
	for _, e := range evs {
		types = append(types, e.Type)
	}
	// Then the resumed sandbox's new end (timeout_extended).
	if want := []string{store.EventCreated, store.EventStarted, store.EventPausing, store.EventPaused, store.EventResuming, store.EventResumed}; len(types) < len(want) || !slices.Equal(types[:len(want)], want) {
		t.Errorf("events %v, want them to begin %v", types, want)
	}

	// The runtime refuses: the record goes back, with an event saying why.
	d.fail = true
	if err := m.Pause(ctx, sb.ID, true); err == nil {
		t.Fatal("pause succeeded with a failing runtime")
	}
	if got, _ := st.GetSandbox(ctx, sb.ID); got.State != store.StateRunning {
		t.Errorf("after a failed pause the record says %s, want running", got.State)
	}
	evs, _ = st.ListEvents(ctx, sb.ID)
	if last := evs[len(evs)-1]; last.Type != store.EventResumed || last.Message == "" {
		t.Errorf("last event %+v, want resumed with the pause's failure", last)
	}
	d.fail = false
	// A restored sandbox pauses with its memory again, and resumes.
	if err := m.Pause(ctx, sb.ID, true); err != nil {
		t.Fatalf("second pause with memory: %v", err)
	}
	if got, _ := st.GetSandbox(ctx, sb.ID); got.State != store.StatePaused {
		t.Errorf("after a second pause the record says %s, want paused", got.State)
	}
	if _, _, err := m.Connect(ctx, sb.ID, 0); err != nil {
		t.Fatalf("second resume: %v", err)
	}
	if err := m.Pause(ctx, sb.ID, false); err != nil {
		t.Fatal(err)
	}
	d.fail = true
	if _, _, err := m.Connect(ctx, sb.ID, 0); err == nil {
		t.Fatal("resume succeeded with a failing runtime")
	}
	if got, _ := st.GetSandbox(ctx, sb.ID); got.State != store.StatePaused {
		t.Errorf("after a failed resume the record says %s, want paused", got.State)
	}
	evs, _ = st.ListEvents(ctx, sb.ID)
	if last := evs[len(evs)-1]; last.Type != store.EventPaused || !strings.Contains(last.Message, "resume failed") {
		t.Errorf("last event %+v, want paused with the resume's failure", last)
	}
	d.fail = false
}

// TestConnectDuringPause: a connect that arrives while a pause to disk
// is under way (already recorded pausing) waits for it and then resumes
// the sandbox, rather than finding the runtime still running, calling it
// resumed, and leaving it stopped once the checkpoint completes.
func TestConnectDuringPause(t *testing.T) {
	e := newEnv(t, 0)
	ctx := context.Background()
	sb, err := e.m.Create(ctx, lifecycle.CreateRequest{TemplateID: "base", Team: "t"})
	if err != nil {
		t.Fatal(err)
	}
	paused := make(chan error, 1)
	go func() { paused <- e.m.Pause(ctx, sb.ID, true) }()
	for {
		got, _ := e.st.GetSandbox(ctx, sb.ID)
		if got.State == store.StatePausing {
			break
		}
		time.Sleep(time.Millisecond)
	}
	got, _, err := e.m.Connect(ctx, sb.ID, time.Minute)
	if perr := <-paused; perr != nil {
		t.Fatalf("pause: %v", perr)
	}
	if err != nil || got.State != store.StateRunning {
		t.Fatalf("connect during the pause: %+v, %v", got, err)
	}
	if info, err := e.driver.Info(ctx, sb.ID); err != nil || info.Status != runtime.StatusRunning {
		t.Fatalf("recorded running, the runtime says %+v, %v", info, err)
	}
	if res, err := e.driver.Exec(ctx, sb.ID, runtime.ExecRequest{Args: []string{"true"}}); err != nil || res.ExitCode != 0 {
		t.Errorf("exec after connect: %+v, %v", res, err)
	}
}
