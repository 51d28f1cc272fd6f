package lifecycle_test

import (
	"context"
	"path/filepath"
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

func TestMain(m *testing.M) { ocitest.Main(m) }

type env struct {
	m      *lifecycle.Manager
	st     store.Store
	driver *oci.Driver
}

func newEnv(t *testing.T, maxSandboxes int) env {
	t.Helper()
	if testing.Short() {
		t.Skip("creates real sandboxes")
	}
	templates := ocitest.Templates(t)
	d, err := oci.New(oci.Config{Root: ocitest.Root(t), AgentPath: ocitest.AgentBinary(t), Templates: templates})
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	m := lifecycle.New(lifecycle.Config{Store: st, Driver: d, Templates: templates, MaxSandboxes: maxSandboxes, SampleEvery: 100 * time.Millisecond, CheckpointDir: t.TempDir()})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() {
		cancel()
		m.Stop()
		live, _ := st.ListSandboxes(context.Background(), store.SandboxFilter{States: []store.SandboxState{store.StateRunning, store.StatePaused}})
		for _, sb := range live {
			_ = m.Kill(context.Background(), sb.ID, store.ReasonKilled, "test over")
		}
	})
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	return env{m: m, st: st, driver: d}
}

func TestCreateKillAndEvents(t *testing.T) {
	e := newEnv(t, 0)
	ctx := context.Background()
	sb, err := e.m.Create(ctx, lifecycle.CreateRequest{TemplateID: "code-interpreter-v1", Secure: true, Team: "t1",
		Metadata: map[string]string{"k": "v"}, EnvVars: map[string]string{"X": "1"}, CPUCount: 1, MemoryMB: 256})
	if err != nil {
		t.Fatal(err)
	}
	if sb.State != store.StateRunning || sb.EnvdAccessToken == "" || sb.CPUCount != 1 || sb.MemoryMB != 256 || sb.Metadata["k"] != "v" {
		t.Errorf("created %+v", sb)
	}
	if time.Until(sb.EndAt) < 4*time.Minute {
		t.Errorf("default timeout: ends at %v", sb.EndAt)
	}
	if info, err := e.driver.Info(ctx, sb.ID); err != nil || info.Status != runtime.StatusRunning {
		t.Fatalf("runtime: %+v %v", info, err)
	}
	if err := e.m.Kill(ctx, sb.ID, store.ReasonKilled, "by test"); err != nil {
		t.Fatal(err)
	}
	got, _ := e.st.GetSandbox(ctx, sb.ID)
	if got.State != store.StateEnded || got.EndReason != store.ReasonKilled {
		t.Errorf("after kill %+v", got)
	}
	if _, err := e.driver.Info(ctx, sb.ID); !errdefs.IsNotFound(err) {
		t.Errorf("runtime still has it: %v", err)
	}
	if err := e.m.Kill(ctx, sb.ID, store.ReasonKilled, ""); !errdefs.IsNotFound(err) {
		t.Errorf("second kill: %v", err)
	}
	evs, _ := e.m.Events(ctx, sb.ID)
	var types []string
	for _, ev := range evs {
		types = append(types, ev.Type)
	}
	if len(types) != 3 || types[0] != "created" || types[1] != "started" || types[2] != "ended" {
		t.Errorf("events %v", types)
	}
}

func TestBadRequestsRecordNothing(t *testing.T) {
	e := newEnv(t, 0)
	ctx := context.Background()
	for _, req := range []lifecycle.CreateRequest{
		{TemplateID: "no-such-template"},
		{TemplateID: ""},
		{TemplateID: "base", CPUCount: 1000},
		{TemplateID: "base", MemoryMB: 1},
		{TemplateID: "base", Timeout: 1000 * time.Hour},
	} {
		if _, err := e.m.Create(ctx, req); err == nil {
			t.Errorf("Create(%+v) succeeded", req)
		}
	}
	if all, _ := e.st.ListSandboxes(ctx, store.SandboxFilter{}); len(all) != 0 {
		t.Errorf("bad requests left records: %+v", all)
	}
}

func TestTimeoutEndsSandbox(t *testing.T) {
	e := newEnv(t, 0)
	ctx := context.Background()
	sb, err := e.m.Create(ctx, lifecycle.CreateRequest{TemplateID: "base", Timeout: 30 * time.Second, Team: "t"})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.m.SetTimeout(ctx, sb.ID, time.Second); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		got, _ := e.st.GetSandbox(ctx, sb.ID)
		if got.State == store.StateEnded {
			if got.EndReason != store.ReasonTimeout {
				t.Errorf("ended with %s", got.EndReason)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("sandbox did not time out")
		}
		time.Sleep(50 * time.Millisecond)
	}
	waitGone(t, e, sb.ID)
}

// waitGone waits for the runtime to forget a sandbox the store ended: the
// end is recorded first, the destroy follows.
func waitGone(t *testing.T, e env, id string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := e.driver.Info(context.Background(), id)
		if errdefs.IsNotFound(err) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("ended sandbox still in the runtime: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestPauseConnectAndQuota(t *testing.T) {
	e := newEnv(t, 2)
	ctx := context.Background()
	a, err := e.m.Create(ctx, lifecycle.CreateRequest{TemplateID: "base", Team: "t"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.Create(ctx, lifecycle.CreateRequest{TemplateID: "base", Team: "t"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.Create(ctx, lifecycle.CreateRequest{TemplateID: "base", Team: "t"}); !errdefsIsExhausted(err) {
		t.Errorf("third sandbox over a quota of 2: %v", err)
	}
	if _, err := e.m.Create(ctx, lifecycle.CreateRequest{TemplateID: "base", Team: "other"}); err != nil {
		t.Errorf("another team's quota is its own: %v", err)
	}
	if err := e.m.Pause(ctx, a.ID, false); err != nil {
		t.Fatal(err)
	}
	if err := e.m.Pause(ctx, a.ID, false); !errdefs.IsAlreadyExists(err) {
		t.Errorf("second pause: %v", err)
	}
	sb, resumed, err := e.m.Connect(ctx, a.ID, time.Hour)
	if err != nil || !resumed || sb.State != store.StateRunning || time.Until(sb.EndAt) < 59*time.Minute {
		t.Errorf("connect: %+v %v %v", sb, resumed, err)
	}
	if _, resumed, err := e.m.Connect(ctx, a.ID, time.Second); err != nil || resumed {
		t.Errorf("connect to a running sandbox: %v %v", resumed, err)
	}
	if got, _ := e.st.GetSandbox(ctx, a.ID); time.Until(got.EndAt) < 59*time.Minute {
		t.Error("connect shortened the sandbox's life")
	}
}

func TestAgentDeathIsRecorded(t *testing.T) {
	e := newEnv(t, 0)
	ctx := context.Background()
	sb, err := e.m.Create(ctx, lifecycle.CreateRequest{TemplateID: "base", Team: "t"})
	if err != nil {
		t.Fatal(err)
	}
	// The sandbox's main process dies (as if it crashed): the monitor
	// ends it with a reason instead of leaving a ghost.
	if err := e.driver.Stop(ctx, sb.ID); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, _ := e.st.GetSandbox(ctx, sb.ID)
		if got.State == store.StateEnded {
			if got.EndReason != store.ReasonError || got.EndMessage == "" {
				t.Errorf("ended %s %q", got.EndReason, got.EndMessage)
			}
			waitGone(t, e, sb.ID)
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("dead sandbox not noticed")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func errdefsIsExhausted(err error) bool { return err != nil && errdefs.HTTPStatus(err) == 429 }
