package template

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/testutil"
)

// TestBaseBuildCancelledLeavesNothing cancels a real debootstrap while it
// has /proc mounted in the target, the state a killed server leaves most
// dangerous. It downloads for a minute, so it runs only when asked.
func TestBaseBuildCancelledLeavesNothing(t *testing.T) {
	if os.Getenv("SOULBOX_TEST_CANCEL_BUILD") == "" {
		t.Skip("set SOULBOX_TEST_CANCEL_BUILD=1 to run (downloads from the mirror for about a minute)")
	}
	testutil.RequiresRoot(t)
	testutil.RequiresBinary(t, "debootstrap")
	dir := t.TempDir()
	s, err := New(dir, Options{
		Logger:   slog.New(slog.NewTextHandler(t.Output(), nil)),
		Progress: t.Output(),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	sawMount := make(chan struct{})
	go func() {
		for ctx.Err() == nil {
			if m, _ := mountsUnder(dir); len(m) > 0 {
				t.Logf("cancelling with %q mounted", m)
				close(sawMount)
				cancel()
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	_, err = s.Ensure(ctx, "base")
	select {
	case <-sawMount:
	default:
		t.Fatalf("build ended (%v) before debootstrap mounted anything", err)
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Ensure error = %v; want context.Canceled", err)
	}
	if m, err := mountsUnder(dir); err != nil || len(m) > 0 {
		t.Errorf("mounts left: %q %v", m, err)
	}
	assertDirEntries(t, filepath.Join(dir, "base"))
	if cur := s.current(t.Context(), "base"); cur.Built {
		t.Errorf("cancelled build counts: %+v", cur)
	}
}
