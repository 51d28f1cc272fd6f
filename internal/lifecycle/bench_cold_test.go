package lifecycle_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/lifecycle"
	"github.com/soulbox/soulbox/internal/runtime"
	"github.com/soulbox/soulbox/internal/runtime/oci"
	"github.com/soulbox/soulbox/internal/runtime/oci/ocitest"
	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/sqlite"
)

// phaseTimes collects durations by name.
type phaseTimes struct {
	mu sync.Mutex
	d  map[string][]time.Duration
}

func (p *phaseTimes) add(name string, since time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.d[name] = append(p.d[name], time.Since(since))
}

// timedDriver and timedStore are the real driver and store, timed.
type timedDriver struct {
	*oci.Driver
	t *phaseTimes
}

func (d timedDriver) Create(ctx context.Context, spec runtime.Spec) (runtime.Info, error) {
	defer d.t.add("driver.create", time.Now())
	return d.Driver.Create(ctx, spec)
}

func (d timedDriver) Start(ctx context.Context, id string) error {
	defer d.t.add("driver.start", time.Now())
	return d.Driver.Start(ctx, id)
}

func (d timedDriver) Destroy(ctx context.Context, id string) error {
	defer d.t.add("driver.destroy", time.Now())
	return d.Driver.Destroy(ctx, id)
}

type timedStore struct {
	store.Store
	t *phaseTimes
}

func (s timedStore) CreateSandbox(ctx context.Context, sb store.Sandbox) error {
	defer s.t.add("store.write", time.Now())
	return s.Store.CreateSandbox(ctx, sb)
}

func (s timedStore) CreateSandboxIf(ctx context.Context, sb store.Sandbox, admit func(store.TeamLoad) error) error {
	defer s.t.add("store.write", time.Now())
	return s.Store.CreateSandboxIf(ctx, sb, admit)
}

func (s timedStore) SetState(ctx context.Context, id string, from []store.SandboxState, to store.SandboxState, ev store.Event) error {
	defer s.t.add("store.write", time.Now())
	return s.Store.SetState(ctx, id, from, to, ev)
}

func (s timedStore) EndSandbox(ctx context.Context, id string, reason store.EndReason, msg string, at time.Time) error {
	defer s.t.add("store.write", time.Now())
	return s.Store.EndSandbox(ctx, id, reason, msg, at)
}

// BenchmarkColdCreateKill is a create that misses the pool and its kill
// through the lifecycle manager, with the driver's and the store's share
// of it timed: what the server adds to the driver's cold path (the
// agent's /init, the store's durable writes). Means per create and kill
// (store-write is all three of its writes), ms:
//
//	go test -run '^$' -bench ColdCreateKill -benchtime 10x ./internal/lifecycle/
func BenchmarkColdCreateKill(b *testing.B) {
	templates := ocitest.Templates(b)
	d, err := oci.New(oci.Config{Root: ocitest.Root(b), AgentPath: ocitest.AgentBinary(b), Templates: templates})
	if err != nil {
		b.Fatal(err)
	}
	st, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	times := &phaseTimes{d: map[string][]time.Duration{}}
	m := lifecycle.New(lifecycle.Config{Store: timedStore{st, times}, Driver: timedDriver{d, times}, Templates: templates,
		SampleEvery: time.Minute, CheckpointDir: b.TempDir()})
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(func() { cancel(); m.Stop() })
	if err := m.Start(ctx); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		start := time.Now()
		sb, err := m.Create(ctx, lifecycle.CreateRequest{TemplateID: "base", Team: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		times.add("create", start)
		start = time.Now()
		if err := m.Kill(ctx, sb.ID, store.ReasonKilled, ""); err != nil {
			b.Fatal(err)
		}
		times.add("kill", start)
	}
	times.mu.Lock()
	defer times.mu.Unlock()
	// Means per create+kill, so that the parts add up to the whole.
	n := len(times.d["create"])
	for name, ds := range times.d {
		var sum time.Duration
		for _, x := range ds {
			sum += x
		}
		b.ReportMetric(float64(sum)/1e6/float64(n), name+"-ms/op")
	}
}
