package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
)

// testLatestMetric: the latest sample of a sandbox is the last one
// ListMetrics returns, raw or downsampled; none before any sample.
func (s *suite) testLatestMetric(t *testing.T) {
	st := s.open(t)
	ctx := context.Background()
	a, b := sandbox("latest-a"), sandbox("latest-b")
	mustCreate(t, st, a)
	mustCreate(t, st, b)
	if _, _, err := st.LatestMetric(ctx, "latest-nobody"); !errdefs.IsNotFound(err) {
		t.Errorf("LatestMetric of an unknown sandbox = %v, want not found", err)
	}
	if _, ok, err := st.LatestMetric(ctx, a.ID); ok || err != nil {
		t.Errorf("LatestMetric before any sample = %v, %v; want none", ok, err)
	}
	// Added out of order, b's later than all of a's.
	batch := []store.MetricSample{sample(a.ID, 20*time.Second, 20, 2000), sample(a.ID, 30*time.Second, 30, 3000),
		sample(a.ID, 5*time.Second, 5, 500), sample(b.ID, 90*time.Second, 9, 9)}
	if err := st.AddMetrics(ctx, batch); err != nil {
		t.Fatal(err)
	}
	got, ok, err := st.LatestMetric(ctx, a.ID)
	if err != nil || !ok || got != batch[1] {
		t.Errorf("LatestMetric = %+v, %v, %v; want %+v", got, ok, err, batch[1])
	}
	// Downsampled: the latest is the bucket, as ListMetrics's last.
	if _, err := st.DownsampleMetrics(ctx, at(10*time.Minute), time.Minute); err != nil {
		t.Fatal(err)
	}
	all, err := st.ListMetrics(ctx, a.ID, time.Time{}, time.Time{})
	if err != nil || len(all) == 0 {
		t.Fatalf("ListMetrics after downsampling = %d, %v", len(all), err)
	}
	got, ok, err = st.LatestMetric(ctx, a.ID)
	if err != nil || !ok || got != all[len(all)-1] || got.Resolution != time.Minute {
		t.Errorf("LatestMetric after downsampling = %+v, %v, %v; want the bucket %+v", got, ok, err, all[len(all)-1])
	}
}
