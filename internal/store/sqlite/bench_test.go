package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/store"
)

// BenchmarkConcurrentWrites is the measurement behind the writer pool of one
// connection: many goroutines create sandboxes and move them through their
// states, against the writer as Open sets it up and against alternatives
// where several connections compete for SQLite's write lock.
func BenchmarkConcurrentWrites(b *testing.B) {
	for _, w := range []struct {
		name  string
		conns int
		lock  string // the writer's _txlock
	}{
		{"OneWriter", 1, "immediate"},
		{"EightWritersImmediate", 8, "immediate"},
		{"EightWritersDeferred", 8, "deferred"},
	} {
		b.Run(w.name, func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "bench.db")
			s, err := Open(context.Background(), path)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			if w.conns != 1 {
				alt, err := sql.Open("sqlite", strings.Replace(dsn(path, false), "_txlock=immediate", "_txlock="+w.lock, 1))
				if err != nil {
					b.Fatal(err)
				}
				alt.SetMaxOpenConns(w.conns)
				alt.SetMaxIdleConns(w.conns)
				s.w.Close()
				s.w = alt
			}
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
