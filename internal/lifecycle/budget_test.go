package lifecycle_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/lifecycle"
	"github.com/soulbox/soulbox/internal/runtime"
	"github.com/soulbox/soulbox/internal/runtime/oci"
	"github.com/soulbox/soulbox/internal/runtime/oci/ocitest"
	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/sqlite"
)

// TestPausedDiskBudget: a pause with memory whose checkpoint the server's
// budget for paused sandboxes cannot take is refused with a message
// saying what to do, and nothing changes: the sandbox runs on, no
// checkpoint is written. A pause of its files only still works, and an
// auto-pause at the timeout falls back to it rather than killing.
func TestPausedDiskBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("creates real sandboxes")
	}
	ctx := context.Background()
	templates := ocitest.Templates(t)
	d, err := oci.New(oci.Config{Root: ocitest.Root(t), AgentPath: ocitest.AgentBinary(t), Templates: templates})
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cpDir := t.TempDir()
	// 1 MiB: less than any sandbox's memory.
	m := lifecycle.New(lifecycle.Config{Store: st, Driver: d, Templates: templates, CheckpointDir: cpDir, PausedDiskMB: 1})
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer m.Stop()
	sb, err := m.Create(ctx, lifecycle.CreateRequest{TemplateID: "base", Team: "t", Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Kill(ctx, sb.ID, store.ReasonKilled, "test over")

	err = m.Pause(ctx, sb.ID, true)
	if !errors.Is(err, errdefs.ErrResourceExhausted) || !strings.Contains(err.Error(), "--paused-disk-mb") || !strings.Contains(err.Error(), "memory false") {
		t.Fatalf("pause with memory over the budget: %v; want resource exhausted naming the setting and the way out", err)
	}
	if got, _ := st.GetSandbox(ctx, sb.ID); got.State != store.StateRunning {
		t.Errorf("after a refused pause the record says %s, want running", got.State)
	}
	if res, err := d.Exec(ctx, sb.ID, runtime.ExecRequest{Args: []string{"true"}}); err != nil || res.ExitCode != 0 {
		t.Errorf("exec after a refused pause: %+v, %v", res, err)
	}
	if left, _ := os.ReadDir(cpDir); len(left) > 0 {
		t.Errorf("a refused pause left %v", left)
	}

	// At the timeout, an auto-pause with memory falls back to the files.
	auto, err := m.Create(ctx, lifecycle.CreateRequest{TemplateID: "base", Team: "t", Timeout: time.Second,
		Lifecycle: store.Lifecycle{AutoPause: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Kill(ctx, auto.ID, store.ReasonKilled, "test over")
	deadline := time.Now().Add(time.Minute)
	for {
		got, _ := st.GetSandbox(ctx, auto.ID)
		if got.State == store.StatePaused {
			break
		}
		if got.State == store.StateEnded || time.Now().After(deadline) {
			t.Fatalf("auto-pause over the budget: sandbox %s (%s %s), want paused with its files", got.State, got.EndReason, got.EndMessage)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if left, _ := os.ReadDir(cpDir); len(left) > 0 {
		t.Errorf("the fallback pause wrote checkpoints %v", left)
	}
	// A budget that takes the checkpoint lets the pause through, and the
	// checkpoint counts against the budget from then.
	roomy := lifecycle.New(lifecycle.Config{Store: st, Driver: d, Templates: templates, CheckpointDir: cpDir, PausedDiskMB: 64 << 10})
	if err := roomy.Pause(ctx, sb.ID, true); err != nil {
		t.Fatalf("pause with memory within the budget: %v", err)
	}
	if left, _ := os.ReadDir(cpDir); len(left) != 1 {
		t.Errorf("checkpoints after a pause within the budget: %v", left)
	}
}
