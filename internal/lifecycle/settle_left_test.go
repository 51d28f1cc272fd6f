package lifecycle_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/lifecycle"
	"github.com/soulbox/soulbox/internal/runtime"
	"github.com/soulbox/soulbox/internal/runtime/oci"
	"github.com/soulbox/soulbox/internal/runtime/oci/ocitest"
	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/postgres"
	"github.com/soulbox/soulbox/internal/store/postgres/pgtest"
)

// TestLeaderSettlesStepOfDeadReplica: another control-plane replica on
// the same PostgreSQL recorded a sandbox of a joined node pausing and
// holds the step: the leading replica leaves it alone (and refuses a
// pause of its own meanwhile). Once that replica is gone (its store
// session ends, as when its process dies) the leader settles the step
// by what the node holds, without anyone touching the sandbox: the node
// runs it, so it runs on.
func TestLeaderSettlesStepOfDeadReplica(t *testing.T) {
	if testing.Short() {
		t.Skip("creates real sandboxes")
	}
	pg := pgtest.Start(t)
	url := pg.NewDatabase(t)
	ctx := context.Background()
	st, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	other, err := postgres.Open(ctx, url) // the other replica
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	templates := ocitest.Templates(t)
	d, err := oci.New(oci.Config{Root: ocitest.Root(t), AgentPath: ocitest.AgentBinary(t), Templates: templates})
	if err != nil {
		t.Fatal(err)
	}
	m := lifecycle.New(lifecycle.Config{Store: st, Driver: d, Templates: templates, CheckpointDir: t.TempDir(),
		Replica: true, Steps: st.StepLeases(), SampleEvery: 100 * time.Millisecond})
	// The sandbox is recorded on a joined node; the real runtime runs it.
	m.UsePlacer(func(context.Context, lifecycle.CreateRequest) (string, error) { return "node-x", nil })
	lctx, cancel := context.WithCancel(ctx)
	t.Cleanup(func() {
		cancel()
		m.Stop()
	})
	if err := m.Lead(lctx); err != nil {
		t.Fatal(err)
	}
	sb, err := m.Create(ctx, lifecycle.CreateRequest{TemplateID: "base", Team: "t", Timeout: 5 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Kill(context.Background(), sb.ID, store.ReasonKilled, "") })

	// The other replica begins a pause: its lease, then the record.
	lease, err := other.TryLead(ctx, lifecycle.StepName(sb.ID))
	if err != nil {
		t.Fatal(err)
	}
	if err := other.SetState(ctx, sb.ID, []store.SandboxState{store.StateRunning}, store.StatePausing,
		store.Event{Type: store.EventPausing, Message: "paused to disk with its memory"}); err != nil {
		t.Fatal(err)
	}
	if err := m.Pause(ctx, sb.ID, false); !errdefs.IsFailedPrecondition(err) || !strings.Contains(err.Error(), "another control plane") {
		t.Errorf("pause while another replica's is under way: %v, want failed precondition saying so", err)
	}
	time.Sleep(time.Second) // ten monitor passes
	if got, _ := st.GetSandbox(ctx, sb.ID); got.State != store.StatePausing {
		t.Fatalf("a step under way on a live replica was settled: %s", got.State)
	}

	// The other replica dies mid-call: the database ends its session,
	// and the lease with it.
	db := url[len("postgres:///"):strings.Index(url, "?")]
	pg.Exec(t, "postgres", `SELECT pg_terminate_backend(pid) FROM pg_locks
		WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = $1)`, db)
	select {
	case <-lease.Lost():
	case <-time.After(time.Minute):
		t.Fatal("the other replica's lease outlived its session")
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		got, err := st.GetSandbox(ctx, sb.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.State == store.StateRunning {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the step of a replica gone is still %s", got.State)
		}
		time.Sleep(100 * time.Millisecond)
	}
	evs, err := st.ListEvents(ctx, sb.ID)
	if err != nil {
		t.Fatal(err)
	}
	last := evs[len(evs)-1]
	if last.Type != store.EventResumed || !strings.Contains(last.Message, "the pause was cut short") {
		t.Errorf("last event %+v, want resumed saying the pause was cut short", last)
	}
	if info, err := d.Info(ctx, sb.ID); err != nil || info.Status != runtime.StatusRunning {
		t.Errorf("the runtime has it %+v, %v; want running", info, err)
	}
	// Settled, it pauses and resumes through the leader as any other.
	if err := m.Pause(ctx, sb.ID, false); err != nil {
		t.Fatalf("pause after the settle: %v", err)
	}
	if _, _, err := m.Connect(ctx, sb.ID, time.Minute); err != nil {
		t.Fatalf("connect after the settle: %v", err)
	}
}
