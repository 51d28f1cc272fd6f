package bench

import (
	"math"
	"slices"
	"time"
)

// Percentiles summarises latency samples in milliseconds. They are
// nearest-rank percentiles: each is one of the samples, never an
// interpolation between two, so a p99 of 50 samples is the largest one
// rather than a value nobody waited for.
type Percentiles struct {
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	P99 float64 `json:"p99"`
	// N is the number of samples.
	N int `json:"n"`
}

// Summarize returns the percentiles of samples; all zero when there are
// none.
func Summarize(samples []time.Duration) Percentiles {
	if len(samples) == 0 {
		return Percentiles{}
	}
	ms := make([]float64, len(samples))
	for i, d := range samples {
		ms[i] = roundTo(float64(d)/float64(time.Millisecond), 3)
	}
	slices.Sort(ms)
	return Percentiles{
		P50: NearestRank(ms, 50),
		P95: NearestRank(ms, 95),
		P99: NearestRank(ms, 99),
		N:   len(ms),
	}
}

// NearestRank is the p-th percentile (0 < p <= 100) of sorted: the
// smallest sample such that at least p percent of the samples are less
// than or equal to it, i.e. sorted[ceil(p/100*n)-1].
func NearestRank(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	// The rank is computed in integer hundredths so that 95% of 20
	// samples is rank 19, not 19.000000000000004 rounded up to 20.
	rank := int(math.Ceil(math.Round(p*float64(len(sorted))) / 100))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// roundTo rounds x to a number of decimals. Latencies keep three (whole
// microseconds): finer digits are timer noise that only make the report
// harder to read.
func roundTo(x float64, decimals int) float64 {
	p := math.Pow(10, float64(decimals))
	return math.Round(x*p) / p
}
