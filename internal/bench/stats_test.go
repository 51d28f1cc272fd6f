package bench

import (
	"testing"
	"time"
)

func TestNearestRank(t *testing.T) {
	seq := func(n int) []float64 {
		s := make([]float64, n)
		for i := range s {
			s[i] = float64(i + 1)
		}
		return s
	}
	for _, tc := range []struct {
		name   string
		sorted []float64
		p      float64
		want   float64
	}{
		{"empty", nil, 50, 0},
		{"one sample", []float64{7}, 99, 7},
		{"median of odd", []float64{1, 2, 3}, 50, 2},
		{"median of even is the lower middle", []float64{1, 2, 3, 4}, 50, 2},
		{"p95 of 20 is the 19th", seq(20), 95, 19},
		{"p99 of 50 is the largest", seq(50), 99, 50},
		{"p99 of 100 is the 99th", seq(100), 99, 99},
		{"p95 of 100", seq(100), 95, 95},
		{"p50 of 10", seq(10), 50, 5},
		{"p100 is the largest", seq(10), 100, 10},
		{"tiny p is the smallest", seq(10), 0.1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := NearestRank(tc.sorted, tc.p); got != tc.want {
				t.Errorf("NearestRank(%v, %v) = %v, want %v", tc.sorted, tc.p, got, tc.want)
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	if got := Summarize(nil); got != (Percentiles{}) {
		t.Errorf("Summarize(nil) = %+v", got)
	}
	// Out of order, in microseconds that must survive as decimals.
	var samples []time.Duration
	for _, us := range []int{3000, 1500, 2250, 10000, 1000} {
		samples = append(samples, time.Duration(us)*time.Microsecond)
	}
	want := Percentiles{P50: 2.25, P95: 10, P99: 10, N: 5}
	if got := Summarize(samples); got != want {
		t.Errorf("Summarize = %+v, want %+v", got, want)
	}
	// Sub-microsecond digits are dropped.
	if got := Summarize([]time.Duration{1234567 * time.Nanosecond}); got.P50 != 1.235 {
		t.Errorf("rounding: %v, want 1.235", got.P50)
	}
}
