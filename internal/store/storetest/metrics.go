package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
)

func sample(id string, d time.Duration, cpu float64, mem uint64) store.MetricSample {
	return store.MetricSample{SandboxID: id, Time: at(d), CPUCount: 2, CPUUsedPct: cpu, MemUsed: mem, MemTotal: 1 << 29,
		MemCache: 100, DiskUsed: mem * 2, DiskTotal: 1 << 31, NetRxBytes: mem * 3, NetTxBytes: mem * 4}
}

// testMetrics: samples stored and read back by range, downsampled into
// buckets that keep the mean CPU and the peaks, pruned by age.
func (s *suite) testMetrics(t *testing.T) {
	st := s.open(t)
	ctx := context.Background()
	a, b := sandbox("metrics-a"), sandbox("metrics-b")
	mustCreate(t, st, a)
	mustCreate(t, st, b)

	if _, err := st.ListMetrics(ctx, "metrics-nobody", time.Time{}, time.Time{}); !errdefs.IsNotFound(err) {
		t.Errorf("ListMetrics of an unknown sandbox = %v, want not found", err)
	}
	if got, err := st.ListMetrics(ctx, a.ID, time.Time{}, time.Time{}); err != nil || len(got) != 0 {
		t.Errorf("ListMetrics before any sample = %v, %v", got, err)
	}
	// Six samples 5 s apart in the first minute, two in the second; b's interleaved.
	var batch []store.MetricSample
	for i := range 6 {
		batch = append(batch, sample(a.ID, time.Duration(i)*5*time.Second, float64(10*i), uint64(1000+i)))
	}
	batch = append(batch, sample(a.ID, 65*time.Second, 50, 500), sample(a.ID, 70*time.Second, 70, 700), sample(b.ID, 5*time.Second, 1, 1))
	if err := st.AddMetrics(ctx, batch); err != nil {
		t.Fatal(err)
	}
	// The same sample again changes nothing.
	if err := st.AddMetrics(ctx, batch[:1]); err != nil {
		t.Errorf("a repeated sample: %v", err)
	}
	all, err := st.ListMetrics(ctx, a.ID, time.Time{}, time.Time{})
	if err != nil || len(all) != 8 {
		t.Fatalf("a's samples = %d, %v; want 8", len(all), err)
	}
	if all[0] != batch[0] {
		t.Errorf("first sample = %+v, want %+v", all[0], batch[0])
	}
	for i := 1; i < len(all); i++ {
		if !all[i].Time.After(all[i-1].Time) {
			t.Errorf("samples out of order at %d", i)
		}
	}
	// The range is inclusive at both ends.
	if got, err := st.ListMetrics(ctx, a.ID, at(10*time.Second), at(20*time.Second)); err != nil || len(got) != 3 {
		t.Errorf("samples in [10s, 20s] = %d, %v; want 3", len(got), err)
	}
	if got, err := st.ListMetrics(ctx, a.ID, time.Time{}, at(-time.Second)); err != nil || len(got) != 0 {
		t.Errorf("samples before the first = %v, %v", got, err)
	}

	// An unknown sandbox in a batch stores none of it.
	bad := []store.MetricSample{sample(a.ID, 80*time.Second, 1, 1), sample("metrics-nobody", 80*time.Second, 1, 1)}
	if err := st.AddMetrics(ctx, bad); !errdefs.IsNotFound(err) {
		t.Errorf("AddMetrics with an unknown sandbox = %v, want not found", err)
	}
	if got, _ := st.ListMetrics(ctx, a.ID, at(80*time.Second), time.Time{}); len(got) != 0 {
		t.Errorf("a failed batch stored %d samples", len(got))
	}
	for _, m := range []store.MetricSample{{SandboxID: a.ID}, {SandboxID: "", Time: t0}, {SandboxID: a.ID, Time: t0, Resolution: time.Minute}, {SandboxID: a.ID, Time: t0, CPUUsedPct: -1}} {
		if err := st.AddMetrics(ctx, []store.MetricSample{m}); !errdefs.IsInvalidArgument(err) {
			t.Errorf("AddMetrics(%+v) = %v, want invalid argument", m, err)
		}
	}

	// Downsample what is older than 66 s into minutes: t0 is not on a
	// minute, so the cut is the last whole minute before t0+66s.
	cut := at(66 * time.Second)
	minuteCut := cut.Truncate(time.Minute)
	var wantRaw, wantGone int
	for _, m := range all {
		if m.Time.Before(minuteCut) {
			wantGone++
		} else {
			wantRaw++
		}
	}
	n, err := st.DownsampleMetrics(ctx, cut, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(wantGone+1) { // b's one sample too
		t.Errorf("downsampled %d raw samples, want %d", n, wantGone+1)
	}
	after, err := st.ListMetrics(ctx, a.ID, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	var raw, buckets int
	var cpuSum float64
	var memPeak uint64
	var n0 int
	for _, m := range all {
		if m.Time.Before(minuteCut) && !m.Time.Before(minuteCut.Add(-time.Minute)) {
			cpuSum += m.CPUUsedPct
			memPeak = max(memPeak, m.MemUsed)
			n0++
		}
	}
	for _, m := range after {
		if m.Resolution == 0 {
			raw++
			continue
		}
		buckets++
		if m.Resolution != time.Minute || !m.Time.Equal(m.Time.Truncate(time.Minute)) {
			t.Errorf("bucket %+v: want a minute's, on a whole minute", m)
		}
		if m.Time.Equal(minuteCut.Add(-time.Minute)) && n0 > 0 {
			if diff := m.CPUUsedPct - cpuSum/float64(n0); diff > 1e-9 || diff < -1e-9 {
				t.Errorf("bucket cpu %v, want the mean %v", m.CPUUsedPct, cpuSum/float64(n0))
			}
			if m.MemUsed != memPeak || m.CPUCount != 2 {
				t.Errorf("bucket memory %d cpus %d, want the peak %d and 2", m.MemUsed, m.CPUCount, memPeak)
			}
		}
	}
	if raw != wantRaw || buckets == 0 {
		t.Errorf("after downsampling: %d raw (want %d), %d buckets", raw, wantRaw, buckets)
	}
	// Downsampling again makes no second bucket.
	if n, err := st.DownsampleMetrics(ctx, cut, time.Minute); err != nil || n != 0 {
		t.Errorf("downsampling twice = %d, %v", n, err)
	}
	if again, _ := st.ListMetrics(ctx, a.ID, time.Time{}, time.Time{}); len(again) != len(after) {
		t.Errorf("downsampling twice: %d samples, was %d", len(again), len(after))
	}
	if _, err := st.DownsampleMetrics(ctx, cut, 1500*time.Millisecond); !errdefs.IsInvalidArgument(err) {
		t.Errorf("a bucket of 1.5s = %v, want invalid argument", err)
	}

	// Pruning deletes raw samples and buckets alike.
	n, err = st.PruneMetrics(ctx, at(68*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	left, _ := st.ListMetrics(ctx, a.ID, time.Time{}, time.Time{})
	if len(left) != 1 || !left[0].Time.Equal(at(70*time.Second)) || n < 2 {
		t.Errorf("after pruning before 68s: %d deleted, left %+v", n, left)
	}
}

// testSandboxSpans: the spans of one team's sandboxes live in a range.
func (s *suite) testSandboxSpans(t *testing.T) {
	st := s.open(t)
	ctx := context.Background()
	early, late, other := sandbox("span-early"), sandbox("span-late"), sandbox("span-other")
	late.CreatedAt = at(10 * time.Minute)
	late.EndAt = at(20 * time.Minute)
	other.ClientID = "client-2"
	mustCreate(t, st, early)
	mustCreate(t, st, late)
	mustCreate(t, st, other)
	if err := st.EndSandbox(ctx, early.ID, store.ReasonKilled, "", at(5*time.Minute)); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		start, end time.Duration
		want       int
	}{
		{-time.Hour, -time.Minute, 0}, // before either
		{0, time.Minute, 1},           // early only
		{6 * time.Minute, 7 * time.Minute, 0},
		{4 * time.Minute, 11 * time.Minute, 2},
		{time.Hour, 2 * time.Hour, 1}, // late never ended
	}
	for _, c := range cases {
		got, err := st.SandboxSpans(ctx, "client-1", at(c.start), at(c.end))
		if err != nil || len(got) != c.want {
			t.Errorf("spans in [%s, %s] = %+v, %v; want %d", c.start, c.end, got, err, c.want)
		}
	}
	got, _ := st.SandboxSpans(ctx, "client-1", at(0), at(time.Hour))
	if len(got) != 2 || !got[0].CreatedAt.Equal(t0) || !got[0].EndedAt.Equal(at(5*time.Minute)) || !got[1].EndedAt.IsZero() {
		t.Errorf("spans = %+v", got)
	}
}
