package oci

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/runtime"
)

// TestExecCancelledBeforeThePidFile: a cancel that comes before the
// runtime has written the process's pid file (a busy host) still kills
// the process, instead of leaving it to run to its end.
func TestExecCancelledBeforeThePidFile(t *testing.T) {
	if testing.Short() {
		t.Skip("creates real sandboxes")
	}
	// A runc whose exec starts 500 ms late, as on a loaded host.
	slow := wrappedRuntime(t, "runc", "slow", func(real string) string {
		return "for a; do [ \"$a\" = exec ] && sleep 0.5; done\nexec " + real + " \"$@\"\n"
	})
	d := newTestDriver(t, map[string]string{"runc": slow})
	ctx := context.Background()
	const id = "execcancel1"
	if _, err := d.Create(ctx, runtime.Spec{ID: id, Template: "base"}); err != nil {
		t.Fatal(err)
	}
	defer d.Destroy(ctx, id)
	if err := d.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := d.Exec(cctx, id, runtime.ExecRequest{Args: []string{"sleep", "30"}})
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Error("a cancelled exec returned no error")
		}
	case <-time.After(20 * time.Second):
		t.Fatal("a cancel before the pid file was written did not kill the process")
	}
	var out strings.Builder
	if _, err := d.Exec(ctx, id, runtime.ExecRequest{Args: []string{"sh", "-c", "pgrep -x sleep || true"}, Stdout: &out}); err != nil {
		t.Fatal(err)
	}
	if s := strings.TrimSpace(out.String()); s != "" {
		t.Errorf("sleep still runs after the cancel: pids %s", s)
	}
}
