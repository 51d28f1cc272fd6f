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

// TestHistoryDownsampledAndPruned: the monitor's samples go to the store,
// samples past DownsampleAfter become buckets, and nothing older than
// the retention is kept, while the sandbox runs and after it ended.
func TestHistoryDownsampledAndPruned(t *testing.T) {
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
	const retention, after = 4 * time.Second, 2 * time.Second
	m := lifecycle.New(lifecycle.Config{Store: st, Driver: d, Templates: templates, SampleEvery: 100 * time.Millisecond,
		Retention: retention, DownsampleAfter: after, DownsampleBucket: time.Second, TidyEvery: 200 * time.Millisecond})
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

	// Long enough for samples past both ages, with room for tidy passes
	// that a busy host holds back by a second or two.
	time.Sleep(retention + 4*time.Second)
	now := time.Now()
	got, err := st.ListMetrics(ctx, sb.ID, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	var raw, buckets int
	for _, s := range got {
		// A tidy runs every TidyEvery (later on a busy host), and cuts on
		// whole buckets.
		if s.Time.Before(now.Add(-retention - 2*time.Second)) {
			t.Errorf("sample of %v kept past the retention of %v", now.Sub(s.Time), retention)
		}
		if s.Resolution == 0 {
			raw++
			if s.Time.Before(now.Add(-after - 3*time.Second)) {
				t.Errorf("raw sample %v old not downsampled after %v", now.Sub(s.Time), after)
			}
		} else {
			buckets++
			if s.Resolution != time.Second || s.MemTotal == 0 {
				t.Errorf("bucket %+v", s)
			}
		}
	}
	if raw == 0 || buckets == 0 {
		t.Fatalf("history of %d raw samples and %d buckets, want both", raw, buckets)
	}
	// The API's reading of the same history. The monitor writes and
	// tidies every 100 ms, so a pass may fall between the two reads: the
	// comparison is tried again then.
	for try := 1; ; try++ {
		ms, err := m.Metrics(ctx, sb.ID, time.Time{}, time.Time{})
		stored, serr := st.ListMetrics(ctx, sb.ID, time.Time{}, time.Time{})
		if err == nil && serr == nil && len(ms) == len(stored) {
			break
		}
		if try == 10 {
			t.Errorf("Metrics = %d samples, %v; the store has %d, %v", len(ms), err, len(stored), serr)
			break
		}
	}

	// Ended, its history ages out too.
	if err := m.Kill(ctx, sb.ID, store.ReasonKilled, "by the test"); err != nil {
		t.Fatal(err)
	}
	// The monitor keeps tidying while no sandbox runs.
	deadline := time.Now().Add(retention + 5*time.Second)
	for {
		left, err := st.ListMetrics(ctx, sb.ID, time.Time{}, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d samples of an ended sandbox kept past the retention", len(left))
		}
		time.Sleep(200 * time.Millisecond)
	}
}
