package server_test

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/server"
	"github.com/soulbox/soulbox/internal/store/postgres/pgtest"
)

// manyKeysClients is how many requests are in flight at once.
const manyKeysClients = 32

// BenchmarkManyKeys drives read routes of a real server whose store holds
// 100 teams of 10 keys each, round-robin across the 1,000 keys with 32
// requests in flight, on SQLite and on PostgreSQL: GET /v2/sandboxes
// (the team's sandboxes, none) and GET /quota (the team's quota and
// usage). One op is one request; req/s, p50-ms and p99-ms are measured
// at the client.
func BenchmarkManyKeys(b *testing.B) {
	for _, backend := range []string{"sqlite", "postgres"} {
		b.Run(backend, func(b *testing.B) {
			admin, _ := runServer(b, func(cfg *server.Config) {
				cfg.PoolPrewarm = "none"
				if backend == "postgres" {
					cfg.Store = pgtest.Start(b).NewDatabase(b)
				}
			})
			var keys []string
			for i := range 100 {
				var tm teamJSON
				admin.want(201, "POST", "/admin/teams", map[string]any{"name": fmt.Sprintf("team-%03d", i)}, &tm)
				for j := range 10 {
					var k createdKeyJSON
					admin.want(201, "POST", "/admin/teams/"+tm.TeamID+"/api-keys", map[string]any{"name": fmt.Sprintf("key-%d", j), "role": "developer"}, &k)
					keys = append(keys, k.Key)
				}
			}
			// Round-robin over teams first: consecutive requests are of
			// different teams.
			order := make([]string, 0, len(keys))
			for j := range 10 {
				for i := range 100 {
					order = append(order, keys[i*10+j])
				}
			}
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: manyKeysClients, MaxConnsPerHost: manyKeysClients}}
			for _, path := range []string{"/v2/sandboxes", "/quota"} {
				b.Run(path[1:], func(b *testing.B) {
					var next, failed atomic.Int64
					took := make([][]time.Duration, manyKeysClients)
					var wg sync.WaitGroup
					b.ResetTimer()
					start := time.Now()
					for c := range manyKeysClients {
						wg.Add(1)
						go func() {
							defer wg.Done()
							for {
								n := next.Add(1) - 1
								if n >= int64(b.N) {
									return
								}
								req, _ := http.NewRequest("GET", admin.base+path, nil)
								req.Header.Set("X-API-Key", order[n%int64(len(order))])
								t0 := time.Now()
								resp, err := client.Do(req)
								if err == nil {
									_, _ = io.Copy(io.Discard, resp.Body)
									resp.Body.Close()
								}
								took[c] = append(took[c], time.Since(t0))
								if err != nil || resp.StatusCode != http.StatusOK {
									failed.Add(1)
								}
							}
						}()
					}
					wg.Wait()
					elapsed := time.Since(start)
					b.StopTimer()
					if n := failed.Load(); n > 0 {
						b.Fatalf("%d of %d requests failed", n, b.N)
					}
					all := slices.Concat(took...)
					slices.Sort(all)
					ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
					b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
					b.ReportMetric(ms(all[len(all)/2]), "p50-ms")
					b.ReportMetric(ms(all[len(all)*99/100]), "p99-ms")
				})
			}
		})
	}
}
