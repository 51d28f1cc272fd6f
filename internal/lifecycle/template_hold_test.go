package lifecycle_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/lifecycle"
	"github.com/soulbox/soulbox/internal/runtime/oci"
	"github.com/soulbox/soulbox/internal/runtime/oci/ocitest"
	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/sqlite"
	"github.com/soulbox/soulbox/internal/template"
)

// holdingTemplates notes, at each release of a hold, how many sandboxes
// the store has recorded: what a template delete waiting on the hold
// would see.
type holdingTemplates struct {
	*template.Store
	st       store.Store
	mu       sync.Mutex
	holds    int
	recorded []int
}

func (h *holdingTemplates) Hold(string) func() {
	h.mu.Lock()
	h.holds++
	h.mu.Unlock()
	return func() {
		all, _ := h.st.ListSandboxes(context.Background(), store.SandboxFilter{})
		h.mu.Lock()
		h.recorded = append(h.recorded, len(all))
		h.mu.Unlock()
	}
}

// A create holds the templates from before it resolves its template until
// its sandbox is recorded, and a refused create lets go too.
func TestCreateHoldsTemplatesUntilRecorded(t *testing.T) {
	if testing.Short() {
		t.Skip("creates a real sandbox")
	}
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tpl := &holdingTemplates{Store: ocitest.Templates(t), st: st}
	d, err := oci.New(oci.Config{Root: ocitest.Root(t), AgentPath: ocitest.AgentBinary(t), Templates: tpl.Store})
	if err != nil {
		t.Fatal(err)
	}
	m := lifecycle.New(lifecycle.Config{Store: st, Driver: d, Templates: tpl, MaxSandboxes: 4, CheckpointDir: t.TempDir()})
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); m.Stop() }()
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Create(ctx, lifecycle.CreateRequest{TemplateID: "base", Timeout: -time.Second}); err == nil {
		t.Fatal("a negative timeout was accepted")
	}
	sb, err := m.Create(ctx, lifecycle.CreateRequest{TemplateID: "base", Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Kill(context.Background(), sb.ID, store.ReasonKilled, "test over")
	tpl.mu.Lock()
	defer tpl.mu.Unlock()
	if tpl.holds != 2 || len(tpl.recorded) != 2 || tpl.recorded[0] != 0 || tpl.recorded[1] != 1 {
		t.Fatalf("holds %d, sandboxes recorded at each release %v; want 2 holds, released with 0 then 1", tpl.holds, tpl.recorded)
	}
}
