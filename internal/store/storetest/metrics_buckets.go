package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/store"
)

// testMetricBuckets: a bucket's mean cache is the same integer in every
// backend (the floor of the mean), its network counters are those of its
// last sample, not its largest, and a range that starts inside a bucket
// (stamped at its start) still returns it.
func (s *suite) testMetricBuckets(t *testing.T) {
	st := s.open(t)
	ctx := context.Background()
	a := sandbox("buckets-a")
	mustCreate(t, st, a)
	// base is the whole minute after t0; three samples in its
	// minute: cache 1, 2 and 2 (mean 1.67: truncated 1, rounded 2), and a
	// network counter that went back at the last sample.
	base := at(0).Truncate(time.Minute).Add(time.Minute)
	mk := func(d time.Duration, cache, rx uint64) store.MetricSample {
		return store.MetricSample{SandboxID: a.ID, Time: base.Add(d), CPUCount: 1, CPUUsedPct: 10, MemUsed: 100, MemTotal: 1000,
			MemCache: cache, DiskUsed: 10, DiskTotal: 100, NetRxBytes: rx, NetTxBytes: rx + 1}
	}
	samples := []store.MetricSample{mk(5*time.Second, 1, 500), mk(20*time.Second, 2, 900), mk(40*time.Second, 2, 300)}
	if err := st.AddMetrics(ctx, samples); err != nil {
		t.Fatal(err)
	}
	if _, err := st.DownsampleMetrics(ctx, base.Add(time.Minute), time.Minute); err != nil {
		t.Fatal(err)
	}
	all, err := st.ListMetrics(ctx, a.ID, time.Time{}, time.Time{})
	if err != nil || len(all) != 1 {
		t.Fatalf("after downsampling: %+v, %v; want one bucket", all, err)
	}
	b := all[0]
	if b.MemCache != 1 {
		t.Errorf("bucket cache %d, want 1 (the floor of the mean 5/3)", b.MemCache)
	}
	if b.NetRxBytes != 300 || b.NetTxBytes != 301 {
		t.Errorf("bucket network %d/%d, want the last sample's 300/301", b.NetRxBytes, b.NetTxBytes)
	}
	if !b.Time.Equal(base) || b.Resolution != time.Minute {
		t.Errorf("bucket at %v of %s, want %v of 1m", b.Time, b.Resolution, base)
	}
	// A range from the middle of the bucket takes it in; one from its end
	// does not.
	if got, err := st.ListMetrics(ctx, a.ID, base.Add(30*time.Second), time.Time{}); err != nil || len(got) != 1 {
		t.Errorf("a range starting inside the bucket: %+v, %v; want the bucket", got, err)
	}
	if got, err := st.ListMetrics(ctx, a.ID, base.Add(time.Minute), time.Time{}); err != nil || len(got) != 0 {
		t.Errorf("a range starting at the bucket's end: %+v, %v; want none", got, err)
	}
	// Raw samples are matched by their own time only.
	if err := st.AddMetrics(ctx, []store.MetricSample{mk(2*time.Minute, 1, 1)}); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.ListMetrics(ctx, a.ID, base.Add(2*time.Minute+time.Second), time.Time{}); len(got) != 0 {
		t.Errorf("a raw sample before the range's start: %+v", got)
	}
	// An hour's bucket (3600 s of resolution) is matched the same way.
	if _, err := st.DownsampleMetrics(ctx, base.Add(3*time.Hour), time.Hour); err != nil {
		t.Fatal(err)
	}
	got, err := st.ListMetrics(ctx, a.ID, base.Add(3*time.Minute), time.Time{})
	if err != nil || len(got) != 1 || got[0].Resolution != time.Hour {
		t.Errorf("a range starting inside an hour's bucket: %+v, %v; want the bucket", got, err)
	}
}
