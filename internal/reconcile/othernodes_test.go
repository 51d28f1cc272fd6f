package reconcile_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/soulbox/soulbox/internal/reconcile"
	"github.com/soulbox/soulbox/internal/runtime/oci"
	"github.com/soulbox/soulbox/internal/runtime/oci/ocitest"
	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/sqlite"
)

// TestRunLeavesOtherNodes: a running sandbox recorded on a joined node
// is not in this host's runtime and is left running; one of this host's
// own that the runtime lacks is lost, as before.
func TestRunLeavesOtherNodes(t *testing.T) {
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
	for id, node := range map[string]string{"remote": "node-x", "local": ""} {
		if err := st.CreateSandbox(ctx, store.Sandbox{ID: id, TemplateID: "base", State: store.StateStarting, Node: node}); err != nil {
			t.Fatal(err)
		}
		if err := st.SetState(ctx, id, []store.SandboxState{store.StateStarting}, store.StateRunning, store.Event{Type: store.EventStarted}); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := reconcile.Run(ctx, st, d, slog.New(slog.DiscardHandler), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Lost) != 1 || rep.Lost[0] != "local" || len(rep.Adopted) != 0 {
		t.Errorf("report %+v, want only local lost", rep)
	}
	if sb, err := st.GetSandbox(ctx, "remote"); err != nil || sb.State != store.StateRunning {
		t.Errorf("the joined node's sandbox is %+v, %v; want running", sb.State, err)
	}
}
