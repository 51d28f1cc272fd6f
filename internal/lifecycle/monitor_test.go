package lifecycle_test

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/lifecycle"
	"github.com/soulbox/soulbox/internal/runtime"
	"github.com/soulbox/soulbox/internal/runtime/oci"
	"github.com/soulbox/soulbox/internal/runtime/oci/ocitest"
	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/sqlite"
	"github.com/soulbox/soulbox/internal/testutil"
)

// faultDriver is the real driver with failures injected and calls
// observed.
type faultDriver struct {
	*oci.Driver
	infos     atomic.Int64
	stats     atomic.Int64
	statsErr  atomic.Bool
	mu        sync.Mutex
	destroyed []bool // whether each Destroy's context had a deadline
	created   []bool // whether each Create's context had a deadline
}

func (d *faultDriver) Create(ctx context.Context, spec runtime.Spec) (runtime.Info, error) {
	_, ok := ctx.Deadline()
	d.mu.Lock()
	d.created = append(d.created, ok)
	d.mu.Unlock()
	return d.Driver.Create(ctx, spec)
}

func (d *faultDriver) Info(ctx context.Context, id string) (runtime.Info, error) {
	d.infos.Add(1)
	return d.Driver.Info(ctx, id)
}

func (d *faultDriver) Stats(ctx context.Context, id string) (runtime.Stats, error) {
	d.stats.Add(1)
	if d.statsErr.Load() {
		return runtime.Stats{}, errors.New("injected stats failure")
	}
	return d.Driver.Stats(ctx, id)
}

func (d *faultDriver) Destroy(ctx context.Context, id string) error {
	_, ok := ctx.Deadline()
	d.mu.Lock()
	d.destroyed = append(d.destroyed, ok)
	d.mu.Unlock()
	return d.Driver.Destroy(ctx, id)
}

type monitorEnv struct {
	m   *lifecycle.Manager
	st  store.Store
	d   *faultDriver
	log *testutil.Buffer
}

// The monitor's health check in these tests: generous enough that a
// loaded host's slow answers do not pass for silence.
const (
	monitorProbeTimeout      = time.Second
	monitorUnresponsiveAfter = 6 * time.Second
)

func newMonitorEnv(t *testing.T) monitorEnv {
	t.Helper()
	return newMonitorEnvEvery(t, 100*time.Millisecond)
}

// newMonitorEnvEvery is newMonitorEnv with the monitor's pass every
// sampleEvery.
func newMonitorEnvEvery(t *testing.T, sampleEvery time.Duration) monitorEnv {
	t.Helper()
	if testing.Short() {
		t.Skip("creates real sandboxes")
	}
	templates := ocitest.Templates(t)
	real, err := oci.New(oci.Config{Root: ocitest.Root(t), AgentPath: ocitest.AgentBinary(t), Templates: templates})
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := monitorEnv{st: st, d: &faultDriver{Driver: real}, log: &testutil.Buffer{}}
	e.m = lifecycle.New(lifecycle.Config{Store: st, Driver: e.d, Templates: templates,
		Log:         slog.New(slog.NewTextHandler(e.log, nil)),
		SampleEvery: sampleEvery, ProbeTimeout: monitorProbeTimeout, ProbeFailures: 3, UnresponsiveAfter: monitorUnresponsiveAfter})
	t.Cleanup(func() {
		e.m.Stop()
		live, _ := st.ListSandboxes(context.Background(), store.SandboxFilter{States: []store.SandboxState{store.StateRunning, store.StatePaused}})
		for _, sb := range live {
			_ = e.m.Kill(context.Background(), sb.ID, store.ReasonKilled, "test over")
		}
	})
	if err := e.m.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return e
}

func waitEnded(t *testing.T, st store.Store, id string, within time.Duration) store.Sandbox {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		sb, err := st.GetSandbox(context.Background(), id)
		if err == nil && sb.State == store.StateEnded {
			return sb
		}
		if time.Now().After(deadline) {
			t.Fatalf("sandbox %s not ended after %v: %+v %v", id, within, sb, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestUnresponsiveAgentEnds: an agent that stops answering (stopped with
// SIGSTOP from the host, as a sandbox whose agent cannot run any more)
// ends the sandbox with reason error and says why, instead of leaving it
// listed as running while nothing works.
func TestUnresponsiveAgentEnds(t *testing.T) {
	e := newMonitorEnv(t)
	ctx := context.Background()
	sb, err := e.m.Create(ctx, lifecycle.CreateRequest{TemplateID: "base", Team: "t"})
	if err != nil {
		t.Fatal(err)
	}
	info, err := e.d.Info(ctx, sb.ID)
	if err != nil || info.Pid <= 0 {
		t.Fatalf("info: %+v %v", info, err)
	}
	// A healthy agent is left alone for several passes.
	time.Sleep(time.Second)
	if got, _ := e.st.GetSandbox(ctx, sb.ID); got.State != store.StateRunning {
		t.Fatalf("a healthy sandbox was ended: %+v", got)
	}
	if err := syscall.Kill(info.Pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	got := waitEnded(t, e.st, sb.ID, 20*time.Second)
	if got.EndReason != store.ReasonError || !strings.Contains(got.EndMessage, "stopped answering") {
		t.Errorf("ended %s %q, want error saying the agent stopped answering", got.EndReason, got.EndMessage)
	}
	if !strings.Contains(e.log.String(), "sandbox.id="+sb.ID) || !strings.Contains(e.log.String(), "health check failed") {
		t.Errorf("failed checks not logged with the sandbox id:\n%s", e.log.String())
	}
	// The end is recorded before the sandbox is destroyed.
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if _, err := e.d.Info(ctx, sb.ID); err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the ended sandbox is still in the runtime")
		}
	}
}

// TestBriefSilenceKeepsTheSandbox: an agent that does not answer for less
// than UnresponsiveAfter (a sandbox saturating its CPUs, a busy host)
// keeps its sandbox, and its log says what happened.
func TestBriefSilenceKeepsTheSandbox(t *testing.T) {
	e := newMonitorEnv(t)
	ctx := context.Background()
	sb, err := e.m.Create(ctx, lifecycle.CreateRequest{TemplateID: "base", Team: "t"})
	if err != nil {
		t.Fatal(err)
	}
	info, err := e.d.Info(ctx, sb.ID)
	if err != nil || info.Pid <= 0 {
		t.Fatalf("info: %+v %v", info, err)
	}
	if err := syscall.Kill(info.Pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	// Silent past its first failed checks, well short of the window.
	time.Sleep(monitorProbeTimeout * 5 / 2)
	if err := syscall.Kill(info.Pid, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	// The agent answers again; the sandbox stays once the window from
	// the first failure is past.
	var types []string
	for deadline := time.Now().Add(monitorUnresponsiveAfter); ; time.Sleep(50 * time.Millisecond) {
		evs, err := e.st.ListEvents(ctx, sb.ID)
		if err != nil {
			t.Fatal(err)
		}
		types = types[:0]
		for _, ev := range evs {
			types = append(types, ev.Type)
		}
		if strings.Contains(strings.Join(types, ","), lifecycle.EventUnresponsive+","+lifecycle.EventResponsive) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("events %v: want %s then %s", types, lifecycle.EventUnresponsive, lifecycle.EventResponsive)
		}
	}
	time.Sleep(time.Until(stopped.Add(monitorUnresponsiveAfter + time.Second)))
	if got, _ := e.st.GetSandbox(ctx, sb.ID); got.State != store.StateRunning {
		t.Fatalf("a sandbox silent for %s was ended: %s %q", monitorProbeTimeout*5/2, got.EndReason, got.EndMessage)
	}
}

// TestMonitorLogsErrors: the monitor's failures are logged with the
// sandbox's id, not swallowed.
func TestMonitorLogsErrors(t *testing.T) {
	e := newMonitorEnv(t)
	sb, err := e.m.Create(context.Background(), lifecycle.CreateRequest{TemplateID: "base", Team: "t"})
	if err != nil {
		t.Fatal(err)
	}
	e.d.statsErr.Store(true)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(e.log.String(), "injected stats failure") {
		if time.Now().After(deadline) {
			t.Fatalf("stats failure never logged:\n%s", e.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, line := range strings.Split(e.log.String(), "\n") {
		if strings.Contains(line, "injected stats failure") && !strings.Contains(line, "sandbox.id="+sb.ID) {
			t.Errorf("logged without the sandbox id: %s", line)
		}
	}
}

// TestStopWaitsForMonitor: once Stop returns, the monitor no longer
// touches the runtime.
func TestStopWaitsForMonitor(t *testing.T) {
	e := newMonitorEnv(t)
	if _, err := e.m.Create(context.Background(), lifecycle.CreateRequest{TemplateID: "base", Team: "t"}); err != nil {
		t.Fatal(err)
	}
	for e.d.infos.Load() == 0 {
		time.Sleep(20 * time.Millisecond)
	}
	e.m.Stop()
	n := e.d.infos.Load()
	time.Sleep(500 * time.Millisecond) // five sample intervals
	if got := e.d.infos.Load(); got != n {
		t.Errorf("the monitor called the runtime %d times after Stop returned", got-n)
	}
}

// TestTimeoutKillHasDeadline: ending a timed-out sandbox cannot wait on a
// hung runtime for ever.
func TestTimeoutKillHasDeadline(t *testing.T) {
	e := newMonitorEnv(t)
	sb, err := e.m.Create(context.Background(), lifecycle.CreateRequest{TemplateID: "base", Team: "t", Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	got := waitEnded(t, e.st, sb.ID, 15*time.Second)
	if got.EndReason != store.ReasonTimeout {
		t.Fatalf("ended %s, want timeout", got.EndReason)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		e.d.mu.Lock()
		d := append([]bool(nil), e.d.destroyed...)
		e.d.mu.Unlock()
		if len(d) > 0 {
			if !d[0] {
				t.Error("the timed-out sandbox was destroyed with no deadline")
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the timed-out sandbox was never destroyed")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestPoolMakeHasDeadline: a refill of the warm pool cannot wait on a hung
// runtime for ever, and neither can giving a pooled sandbox back.
func TestPoolMakeHasDeadline(t *testing.T) {
	e := newMonitorEnv(t)
	maker := e.m.PoolMaker()
	id, err := maker.Make(context.Background(), "base", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := maker.Destroy(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	e.d.mu.Lock()
	defer e.d.mu.Unlock()
	if len(e.d.created) != 1 || !e.d.created[0] || len(e.d.destroyed) != 1 || !e.d.destroyed[0] {
		t.Errorf("create had a deadline: %v, destroy: %v; want both", e.d.created, e.d.destroyed)
	}
}

// TestMonitorSparesASandboxPausedMidPass: a monitor pass reads the
// sandboxes once, then checks them one by one. One paused after the read
// is stopped in the runtime while the pass's record says running: that
// is not a main process that exited, and the sandbox stays paused.
func TestMonitorSparesASandboxPausedMidPass(t *testing.T) {
	e := newMonitorEnv(t)
	ctx := context.Background()
	sb, err := e.m.Create(ctx, lifecycle.CreateRequest{TemplateID: "base", Team: "t"})
	if err != nil {
		t.Fatal(err)
	}
	stale, err := e.st.GetSandbox(ctx, sb.ID)
	if err != nil || stale.State != store.StateRunning {
		t.Fatalf("before the pause: %+v, %v", stale, err)
	}
	if err := e.m.Pause(ctx, sb.ID, false); err != nil {
		t.Fatal(err)
	}
	e.m.Sample(ctx, stale)
	now, err := e.st.GetSandbox(ctx, sb.ID)
	if err != nil || now.State != store.StatePaused {
		t.Fatalf("after a check with the record from before the pause: %s (%s: %s), %v; want paused", now.State, now.EndReason, now.EndMessage, err)
	}
}
