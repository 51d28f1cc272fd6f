package store

import (
	"context"
	"fmt"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// MetricSample is one record of a sandbox's resource use: a raw sample
// taken by the monitor, or a downsampled bucket standing for several.
type MetricSample struct {
	SandboxID  string
	Time       time.Time // when taken; for a bucket, the bucket's start
	CPUCount   int
	CPUUsedPct float64 // share of the sandbox's CPUs used, 0 to 100; a bucket's mean
	MemUsed    uint64  // bytes without page cache; a bucket's peak
	MemTotal   uint64
	MemCache   uint64
	DiskUsed   uint64 // bytes; a bucket's peak
	DiskTotal  uint64
	NetRxBytes uint64 // bytes the sandbox received so far (cumulative)
	NetTxBytes uint64 // bytes the sandbox sent so far (cumulative)
	// Resolution is 0 for a raw sample, the bucket's width for a
	// downsampled one.
	Resolution time.Duration
}

// SandboxSpan is when one sandbox lived: the team metrics are counted
// from these.
type SandboxSpan struct {
	CreatedAt time.Time
	EndedAt   time.Time // zero: still live
}

// MetricHistory keeps the resource history of sandboxes. It is separate
// from the sandbox record: samples are written every few seconds, in
// batches, and pruned by age.
type MetricHistory interface {
	// AddMetrics stores raw samples (Resolution 0) of existing sandboxes
	// in one transaction. A sandbox that is not known is ErrNotFound and
	// nothing is stored. A second sample of a sandbox at the same time
	// replaces nothing and is not an error.
	AddMetrics(ctx context.Context, samples []MetricSample) error

	// ListMetrics returns the samples of a sandbox with start <= Time <=
	// end and the buckets that overlap the range (Time + Resolution >
	// start, Time <= end; zero: unbounded), in time order. An unknown sandbox
	// is ErrNotFound; one without samples in the range gives none.
	ListMetrics(ctx context.Context, sandboxID string, start, end time.Time) ([]MetricSample, error)

	// LatestMetric returns the sample or bucket of a sandbox with the
	// latest Time (the last one ListMetrics would return), and false if it
	// has none. An unknown sandbox is ErrNotFound.
	LatestMetric(ctx context.Context, sandboxID string) (MetricSample, bool, error)

	// DownsampleMetrics replaces the raw samples taken before before by
	// one bucket of width bucket per sandbox (mean CPU, peak memory and
	// disk, the floor of the mean cache, the network counters of its
	// last sample), and reports how many raw samples it
	// replaced. before is rounded down to a multiple of bucket, so a
	// bucket is made once, from all of its samples.
	DownsampleMetrics(ctx context.Context, before time.Time, bucket time.Duration) (int64, error)

	// PruneMetrics deletes every sample and bucket before before and
	// reports how many it deleted.
	PruneMetrics(ctx context.Context, before time.Time) (int64, error)

	// SandboxSpans returns when each of team's sandboxes that were live
	// at some moment between start and end lived, in CreatedAt order.
	SandboxSpans(ctx context.Context, team string, start, end time.Time) ([]SandboxSpan, error)
}

// ValidateMetricSample reports a sample AddMetrics cannot store.
func ValidateMetricSample(m MetricSample) error {
	if err := ValidateID(m.SandboxID); err != nil {
		return err
	}
	if m.Time.IsZero() {
		return fmt.Errorf("sandbox %q: metric sample without a time: %w", m.SandboxID, errdefs.ErrInvalidArgument)
	}
	if m.Resolution != 0 {
		return fmt.Errorf("sandbox %q: only raw samples are added, not buckets of %s: %w", m.SandboxID, m.Resolution, errdefs.ErrInvalidArgument)
	}
	if m.CPUUsedPct < 0 || m.CPUCount < 0 {
		return fmt.Errorf("sandbox %q: negative cpu in a metric sample: %w", m.SandboxID, errdefs.ErrInvalidArgument)
	}
	return nil
}

// ValidateBucket reports a downsampling bucket narrower than a second.
func ValidateBucket(bucket time.Duration) error {
	if bucket < time.Second || bucket%time.Second != 0 {
		return fmt.Errorf("metric bucket %s: use whole seconds, at least 1s: %w", bucket, errdefs.ErrInvalidArgument)
	}
	return nil
}
