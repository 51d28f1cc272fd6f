package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/store"
)

// BenchmarkConcurrentWrites is the measurement behind the writer: many
// goroutines create sandboxes and move them through their states, with
// group commit (as Open sets the store up) and with one transaction, and
// so one fsync, per write (a batch of at most one write).
func BenchmarkConcurrentWrites(b *testing.B) {
	for _, w := range []struct {
		name     string
		maxBatch int
	}{
		{"OneTxPerWrite", 1},
		{"GroupCommit", defaultMaxBatch},
	} {
		b.Run(w.name, func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "bench.db")
			s, err := Open(context.Background(), path)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			s.maxBatch = w.maxBatch
			var (
				seq, failed atomic.Int64
				mu          sync.Mutex
				lat         []time.Duration
			)
			b.SetParallelism(8) // 8 x GOMAXPROCS goroutines
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				ctx := context.Background()
				var mine []time.Duration
				defer func() { mu.Lock(); lat = append(lat, mine...); mu.Unlock() }()
				for pb.Next() {
					start := time.Now()
					id := fmt.Sprintf("sb-%d", seq.Add(1))
					err := s.CreateSandbox(ctx, store.Sandbox{ID: id, TemplateID: "base", State: store.StateStarting})
					if err == nil {
						err = s.SetState(ctx, id, []store.SandboxState{store.StateStarting}, store.StateRunning,
							store.Event{Type: store.EventStarted})
					}
					if err == nil {
						err = s.EndSandbox(ctx, id, store.ReasonKilled, "", s.now())
					}
					if err != nil {
						failed.Add(1)
					}
					mine = append(mine, time.Since(start))
				}
			})
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(failed.Load())/float64(b.N), "failed/op")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
			b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
		})
	}
}

// BenchmarkSetEndAt is the API's timeout change (a compare-and-set and its
// event) from 16 goroutines, as concurrent requests make it, and from one
// (a lone write, which group commit must not delay), with group commit and
// with one transaction per write, in the same process.
func BenchmarkSetEndAt(b *testing.B) {
	for _, w := range []struct {
		name       string
		maxBatch   int
		goroutines int
	}{
		{"OneTxPerWrite/16", 1, 16},
		{"GroupCommit/16", defaultMaxBatch, 16},
		{"OneTxPerWrite/1", 1, 1},
		{"GroupCommit/1", defaultMaxBatch, 1},
	} {
		b.Run(w.name, func(b *testing.B) {
			s, err := Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			s.maxBatch = w.maxBatch
			ctx := context.Background()
			ids := make([]string, 100)
			for i := range ids {
				ids[i] = fmt.Sprintf("sb%03d", i)
				if err := s.CreateSandbox(ctx, store.Sandbox{ID: ids[i], TemplateID: "base", State: store.StateRunning}); err != nil {
					b.Fatal(err)
				}
			}
			var (
				seq atomic.Int64
				mu  sync.Mutex
				lat []time.Duration
			)
			setEndAt := func() {
				i := seq.Add(1)
				start := time.Now()
				if err := s.SetEndAt(ctx, ids[int(i)%len(ids)], time.Now().Add(time.Duration(i)*time.Second)); err != nil {
					b.Error(err)
				}
				d := time.Since(start)
				mu.Lock()
				lat = append(lat, d)
				mu.Unlock()
			}
			b.ResetTimer()
			if w.goroutines == 1 {
				for range b.N {
					setEndAt()
				}
			} else {
				b.SetParallelism(max(1, w.goroutines/runtime.GOMAXPROCS(0)))
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						setEndAt()
					}
				})
			}
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}
