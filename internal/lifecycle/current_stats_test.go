package lifecycle_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/lifecycle"
	"github.com/soulbox/soulbox/internal/runtime/oci"
	"github.com/soulbox/soulbox/internal/runtime/oci/ocitest"
	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/sqlite"
)

// Before the monitor's first sample of a sandbox, its metrics are its
// current usage, read from the runtime at most once a second however
// often they are asked for, and read again once that second is over.
func TestMetricsBeforeTheFirstSampleReadOnceASecond(t *testing.T) {
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
	d := &faultDriver{Driver: real}
	// No monitor pass during the test: no sample reaches the store.
	m := lifecycle.New(lifecycle.Config{Store: st, Driver: d, Templates: templates, SampleEvery: time.Hour})
	ctx := context.Background()
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Stop)
	sb, err := m.Create(ctx, lifecycle.CreateRequest{TemplateID: "base", Team: "t1", CPUCount: 1, MemoryMB: 256})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Kill(ctx, sb.ID, store.ReasonKilled, "test over")

	read := func() lifecycle.Metric {
		t.Helper()
		ms, err := m.Metrics(ctx, sb.ID, time.Time{}, time.Time{})
		if err != nil || len(ms) != 1 || ms[0].MemTotal == 0 {
			t.Fatalf("metrics of a sandbox without samples: %+v, %v; want its current usage", ms, err)
		}
		return ms[0]
	}
	before := d.stats.Load()
	first := read()
	for range 20 {
		if got := read(); got != first {
			t.Errorf("within the second: %+v, want the first read %+v", got, first)
		}
	}
	got, ok, err := m.LatestMetric(ctx, sb)
	if err != nil || !ok || got != first {
		t.Errorf("latest metric within the second: %+v, %v, %v; want %+v", got, ok, err, first)
	}
	if n := d.stats.Load() - before; n != 1 {
		t.Errorf("22 metrics requests within a second read the runtime %d times, want 1", n)
	}
	time.Sleep(1100 * time.Millisecond)
	read()
	if n := d.stats.Load() - before; n != 2 {
		t.Errorf("after the second: %d runtime reads in all, want 2", n)
	}
}
