package lifecycle_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
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

// failingCreate is a runtime whose next Create fails with err without
// reaching the real one, as a joined node's driver fails when the node
// does not answer or answers with an error.
type failingCreate struct {
	lifecycle.Driver
	mu   sync.Mutex
	next error
}

func (d *failingCreate) failNext(err error) { d.mu.Lock(); d.next = err; d.mu.Unlock() }

func (d *failingCreate) Create(ctx context.Context, spec runtime.Spec) (runtime.Info, error) {
	d.mu.Lock()
	err := d.next
	d.next = nil
	d.mu.Unlock()
	if err != nil {
		return runtime.Info{}, err
	}
	return d.Driver.Create(ctx, spec)
}

// TestCreateRetriedWhenNodeNotReached: a create whose node was not
// reached is placed once more without that node and made there; the
// failed attempt's record is ended with the reason. A node's answer
// (unavailable, but received) is not retried.
func TestCreateRetriedWhenNodeNotReached(t *testing.T) {
	if testing.Short() {
		t.Skip("creates real sandboxes")
	}
	templates := ocitest.Templates(t)
	real, err := oci.New(oci.Config{Root: ocitest.Root(t), AgentPath: ocitest.AgentBinary(t), Templates: templates})
	if err != nil {
		t.Fatal(err)
	}
	d := &failingCreate{Driver: real}
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	m := lifecycle.New(lifecycle.Config{Store: st, Driver: d, Templates: templates, CheckpointDir: t.TempDir()})
	// The placer prefers node-far; excluded, the embedded node, which
	// the real runtime is.
	var (
		mu     sync.Mutex
		placed [][]string
	)
	m.UsePlacer(func(_ context.Context, req lifecycle.CreateRequest) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		placed = append(placed, slices.Clone(req.ExcludeNodes))
		if slices.Contains(req.ExcludeNodes, "node-far") {
			return "", nil
		}
		return "node-far", nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() {
		cancel()
		m.Stop()
	})
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	ended := func(t *testing.T) []store.Sandbox {
		t.Helper()
		sbs, err := st.ListSandboxes(ctx, store.SandboxFilter{Team: "t", States: []store.SandboxState{store.StateEnded}})
		if err != nil {
			t.Fatal(err)
		}
		return sbs
	}

	refused := fmt.Errorf("node node-far: connection refused: %w: %w", errdefs.ErrUnavailable, runtime.ErrNotReached)
	d.failNext(refused)
	sb, err := m.Create(ctx, lifecycle.CreateRequest{TemplateID: "base", Team: "t", Timeout: time.Minute})
	if err != nil {
		t.Fatalf("create whose first node was not reached: %v", err)
	}
	t.Cleanup(func() { _ = m.Kill(context.Background(), sb.ID, store.ReasonKilled, "") })
	if sb.Node != "" || sb.State != store.StateRunning {
		t.Errorf("created %+v, want running on the embedded node", sb)
	}
	if want := [][]string{nil, {"node-far"}}; !slicesEqual(placed, want) {
		t.Errorf("placements excluded %v, want %v", placed, want)
	}
	failed := ended(t)
	if len(failed) != 1 || failed[0].Node != "node-far" || failed[0].EndReason != store.ReasonError ||
		!strings.Contains(failed[0].EndMessage, "node node-far was not reached, nothing was made there") {
		t.Fatalf("the failed attempt's record: %+v, want one ended on node-far with reason error saying why", failed)
	}
	live, _ := st.ListSandboxes(ctx, store.SandboxFilter{Team: "t", States: store.LiveStates})
	if len(live) != 1 || live[0].ID != sb.ID {
		t.Errorf("live sandboxes %+v, want only %s", live, sb.ID)
	}

	// The node answered: not retried, the create fails.
	placed = nil
	d.failNext(fmt.Errorf("node node-far: runtime busy: %w", errdefs.ErrUnavailable))
	if _, err := m.Create(ctx, lifecycle.CreateRequest{TemplateID: "base", Team: "t", Timeout: time.Minute}); !errors.Is(err, errdefs.ErrUnavailable) || errors.Is(err, runtime.ErrNotReached) {
		t.Fatalf("create the node refused: %v, want its unavailable error", err)
	}
	if len(placed) != 1 {
		t.Errorf("a node's answer was placed %d times, want once", len(placed))
	}
	if n := len(ended(t)); n != 2 {
		t.Errorf("%d ended records, want 2", n)
	}
}

func slicesEqual(a, b [][]string) bool {
	return slices.EqualFunc(a, b, func(x, y []string) bool { return slices.Equal(x, y) })
}
