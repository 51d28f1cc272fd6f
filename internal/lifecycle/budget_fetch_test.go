package lifecycle_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/lifecycle"
	"github.com/soulbox/soulbox/internal/objstore"
	"github.com/soulbox/soulbox/internal/objstore/s3test"
)

// TestFetchWithinPausedBudget: a resume that must fetch its checkpoint
// from object storage counts it against the paused disk budget before
// downloading: one that does not fit is refused saying so, and the
// sandbox stays paused, to resume once there is room.
func TestFetchWithinPausedBudget(t *testing.T) {
	const budgetMB = 64
	e := newObjEnvConfig(t, func(srv *s3test.Server) objstore.Config { return srv.Config("soulbox") },
		func(c *lifecycle.Config) { c.PausedDiskMB = budgetMB })
	ctx := context.Background()
	id := e.counting(t)
	rec := e.pauseAway(t, id)

	// Other paused sandboxes' checkpoints leave less than this one.
	filler := filepath.Join(e.cpDir, "others")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Fallocate(int(f.Fd()), 0, 0, budgetMB<<20-rec.Size/2); err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, _, err = e.m.Connect(ctx, id, 0)
	if !errors.Is(err, errdefs.ErrResourceExhausted) || !strings.Contains(err.Error(), "--paused-disk-mb") {
		t.Fatalf("resume past the paused disk budget: %v; want it refused naming the budget", err)
	}
	e.mustBePaused(t, id)

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.m.Connect(ctx, id, 0); err != nil {
		t.Fatal(err)
	}
	if got := e.count(t, id, 10*time.Second); got != "2" {
		t.Fatalf("count after the resume %q, want 2", got)
	}
}
