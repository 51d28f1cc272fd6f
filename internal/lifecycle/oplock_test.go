package lifecycle_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/lifecycle"
	"github.com/soulbox/soulbox/internal/runtime/oci"
	"github.com/soulbox/soulbox/internal/runtime/oci/ocitest"
	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/sqlite"
)

// gatedDriver is the real driver whose checkpoints wait for a go-ahead.
type gatedDriver struct {
	*oci.Driver
	entered chan struct{}
	proceed chan struct{}
}

func (d *gatedDriver) Checkpoint(ctx context.Context, id, dir string) error {
	d.entered <- struct{}{}
	<-d.proceed
	return d.Driver.Checkpoint(ctx, id, dir)
}

// A kill that arrives during a pause to disk waits for the checkpoint to
// finish and then ends the sandbox: nothing of it is left, neither the
// checkpoint written after a destroy nor its lock entry.
func TestKillWaitsForPause(t *testing.T) {
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
	d := &gatedDriver{Driver: real, entered: make(chan struct{}), proceed: make(chan struct{})}
	cpDir := t.TempDir()
	m := lifecycle.New(lifecycle.Config{Store: st, Driver: d, Templates: templates, CheckpointDir: cpDir})
	sb, err := m.Create(ctx, lifecycle.CreateRequest{TemplateID: "base", Team: "t"})
	if err != nil {
		t.Fatal(err)
	}
	paused := make(chan error, 1)
	go func() { paused <- m.Pause(ctx, sb.ID, true) }()
	<-d.entered // recorded paused, checkpoint about to run
	killed := make(chan error, 1)
	go func() { killed <- m.Kill(ctx, sb.ID, store.ReasonKilled, "test") }()
	select {
	case err := <-killed:
		close(d.proceed)
		<-paused
		t.Fatalf("kill returned (%v) while the pause's checkpoint was under way", err)
	case <-time.After(500 * time.Millisecond):
	}
	close(d.proceed)
	if err := <-paused; err != nil {
		t.Fatalf("pause: %v", err)
	}
	if err := <-killed; err != nil {
		t.Fatalf("kill after the pause: %v", err)
	}
	if got, _ := st.GetSandbox(ctx, sb.ID); got.State != store.StateEnded || got.EndReason != store.ReasonKilled {
		t.Errorf("after the kill: %s (%s), want ended (killed)", got.State, got.EndReason)
	}
	if left, _ := os.ReadDir(cpDir); len(left) > 0 {
		t.Errorf("checkpoints left of a killed sandbox: %v", left)
	}
	if left := real.Leftovers(ctx, sb.ID); len(left) > 0 {
		t.Errorf("left after the kill: %v", left)
	}
	if n := m.OpLocks(); n != 0 {
		t.Errorf("%d lock entries left", n)
	}
}

// The pause and resume lock of a sandbox is dropped however the call
// ends: asked of a sandbox that does not exist, or one that ends on its
// own, nothing is kept for it.
func TestOpLocksDoNotLeak(t *testing.T) {
	e := newEnv(t, 0)
	ctx := context.Background()
	if err := e.m.Pause(ctx, "nosuchsandbox", true); !errdefs.IsNotFound(err) {
		t.Fatalf("pause of an unknown sandbox: %v", err)
	}
	if _, _, err := e.m.Connect(ctx, "nosuchsandbox2", time.Minute); !errdefs.IsNotFound(err) {
		t.Fatalf("connect to an unknown sandbox: %v", err)
	}
	sb, err := e.m.Create(ctx, lifecycle.CreateRequest{TemplateID: "base", Team: "t"})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.m.Pause(ctx, sb.ID, false); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.m.Connect(ctx, sb.ID, time.Minute); err != nil {
		t.Fatal(err)
	}
	// It ends on its own: the monitor records it.
	if err := e.driver.Stop(ctx, sb.ID); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, _ := e.st.GetSandbox(ctx, sb.ID)
		if got.State == store.StateEnded {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a stopped sandbox is still %s", got.State)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The end is recorded before the destroy, which the kill finishes
	// holding the lock: wait for the monitor's work to be done.
	e.m.Stop()
	if n := e.m.OpLocks(); n != 0 {
		t.Errorf("%d lock entries left after unknown sandboxes and one that ended on its own", n)
	}
}
