package api

import (
	"testing"
	"time"
)

// TestOpenMetricsRangeClamped: a range without a start, or with a start
// and no end, reads at most maxMetricsRange back from its end or now; a
// closed range is left as parsed (parseMetricsRange bounds it).
func TestOpenMetricsRangeClamped(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	end := now.Add(-48 * time.Hour)
	for _, tc := range []struct {
		name             string
		start, end, want time.Time
	}{
		{"no start, no end", time.Time{}, time.Time{}, now.Add(-maxMetricsRange)},
		{"no start", time.Time{}, end, end.Add(-maxMetricsRange)},
		{"a start a year ago, no end", now.Add(-365 * 24 * time.Hour), time.Time{}, now.Add(-maxMetricsRange)},
		{"a start from 1970, no end", time.Unix(0, 0), time.Time{}, now.Add(-maxMetricsRange)},
		{"a start an hour ago", now.Add(-time.Hour), time.Time{}, now.Add(-time.Hour)},
		{"a closed range", end.Add(-time.Hour), end, end.Add(-time.Hour)},
	} {
		if got := clampOpenStart(tc.start, tc.end, now); !got.Equal(tc.want) {
			t.Errorf("%s: start %v, want %v", tc.name, got, tc.want)
		}
	}
	for _, q := range []string{"", "start=0", "end=2000000000"} {
		s, e, err := parseMetricsRange(q)
		if err != nil {
			t.Fatal(err)
		}
		if got := clampOpenStart(s, e, now); (e.IsZero() && now.Sub(got) > maxMetricsRange) || (!e.IsZero() && e.Sub(got) > maxMetricsRange) {
			t.Errorf("?%s reads from %v, more than %s", q, got, maxMetricsRange)
		}
	}
}
