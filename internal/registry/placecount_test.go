package registry_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/nodeca"
	"github.com/soulbox/soulbox/internal/registry"
	"github.com/soulbox/soulbox/internal/scheduler"
	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/sqlite"
)

// placeEnv is a registry on SQLite with one joined node, ready and
// serving sandboxes, whose last heartbeat reported r.
func placeEnv(t *testing.T, r store.NodeReport) (store.Store, *registry.Registry) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "soulbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ca, err := nodeca.Open(filepath.Join(dir, "ca"))
	if err != nil {
		t.Fatal(err)
	}
	reg, err := registry.New(ctx, registry.Config{Store: st, CA: ca})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.EnsureNode(ctx, store.Node{ID: "n1", Status: store.NodeReady}); err != nil {
		t.Fatal(err)
	}
	r.ServiceAddress = "127.0.0.1:1"
	if _, err := st.RecordNodeHeartbeat(ctx, "n1", r, false, time.Time{}); err != nil {
		t.Fatal(err)
	}
	return st, reg
}

// TestPlaceCountsTheStore: creates placed within one heartbeat
// interval see each other, through the store's live sandboxes on the
// node, while the heartbeat still says the node runs none.
func TestPlaceCountsTheStore(t *testing.T) {
	ctx := context.Background()
	req := scheduler.Request{Template: "base", CPU: 1, MemoryBytes: 512 << 20, Team: "t"}

	t.Run("max-sandboxes", func(t *testing.T) {
		st, reg := placeEnv(t, store.NodeReport{CPUCount: 8, MemoryTotalBytes: 16 << 30, MaxSandboxes: 1})
		if d, err := reg.Place(ctx, req); err != nil || d.NodeID != "n1" {
			t.Fatalf("first place = %+v, %v; want n1", d, err)
		}
		if err := st.CreateSandbox(ctx, store.Sandbox{ID: "a", TemplateID: "base", ClientID: "other", State: store.StateRunning, CPUCount: 1, MemoryMB: 512, Node: "n1"}); err != nil {
			t.Fatal(err)
		}
		_, err := reg.Place(ctx, req)
		if !errors.Is(err, errdefs.ErrUnavailable) || !strings.Contains(err.Error(), "n1") {
			t.Fatalf("place past n1's bound = %v; want unavailable naming n1", err)
		}
		// An ended sandbox no longer counts.
		if err := st.EndSandbox(ctx, "a", store.ReasonKilled, "", time.Now()); err != nil {
			t.Fatal(err)
		}
		if d, err := reg.Place(ctx, req); err != nil || d.NodeID != "n1" {
			t.Fatalf("place once the sandbox ended = %+v, %v; want n1", d, err)
		}
	})

	t.Run("memory", func(t *testing.T) {
		st, reg := placeEnv(t, store.NodeReport{CPUCount: 8, MemoryTotalBytes: 1 << 30})
		if err := st.CreateSandbox(ctx, store.Sandbox{ID: "b", TemplateID: "base", State: store.StateStarting, CPUCount: 1, MemoryMB: 768, Node: "n1"}); err != nil {
			t.Fatal(err)
		}
		if _, err := reg.Place(ctx, req); !errors.Is(err, errdefs.ErrUnavailable) {
			t.Fatalf("place of 512 MiB beside 768 MiB on a 1 GiB node = %v; want unavailable", err)
		}
	})

	t.Run("heartbeat larger", func(t *testing.T) {
		// The node runs one sandbox the store does not know yet (or no
		// longer): the heartbeat's figure is the larger and counts.
		_, reg := placeEnv(t, store.NodeReport{CPUCount: 8, MemoryTotalBytes: 16 << 30, MaxSandboxes: 1, Sandboxes: 1})
		if _, err := reg.Place(ctx, req); !errors.Is(err, errdefs.ErrUnavailable) {
			t.Fatalf("place on a node whose heartbeat says it is full = %v; want unavailable", err)
		}
	})
}
