package storetest_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/store"
)

// BenchmarkStore measures what the API asks of the store, on each backend,
// from several goroutines at once as concurrent requests do: a create
// (sandbox, metadata and its events in one transaction), a get by id, a
// list of a team's running sandboxes among listSize, and a timeout change
// (SetEndAt, a compare-and-set with its event).
func BenchmarkStore(b *testing.B) {
	const listSize = 100
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			open := be.setup(b).open
			ctx := context.Background()
			var seq atomic.Int64
			newSandbox := func() store.Sandbox {
				n := seq.Add(1)
				return store.Sandbox{
					ID: fmt.Sprintf("sb%08d", n), TemplateID: "base", ClientID: "team", State: store.StateRunning,
					CPUCount: 2, MemoryMB: 512, EnvdAccessToken: "token", EndAt: time.Now().Add(time.Hour),
					Metadata: map[string]string{"user": "u", "n": fmt.Sprint(n % 10)},
				}
			}
			// seed returns a store holding n running sandboxes and their ids.
			seed := func(b *testing.B, n int) (store.Store, []string) {
				st := open(b)
				b.Cleanup(func() { st.Close() })
				ids := make([]string, n)
				for i := range ids {
					sb := newSandbox()
					if err := st.CreateSandbox(ctx, sb); err != nil {
						b.Fatal(err)
					}
					ids[i] = sb.ID
				}
				return st, ids
			}
			b.Run("Create", func(b *testing.B) {
				st, _ := seed(b, 0)
				b.SetParallelism(4)
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if err := st.CreateSandbox(ctx, newSandbox()); err != nil {
							b.Error(err)
						}
					}
				})
			})
			b.Run("Get", func(b *testing.B) {
				st, ids := seed(b, listSize)
				b.SetParallelism(4)
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					i := 0
					for pb.Next() {
						if _, err := st.GetSandbox(ctx, ids[i%len(ids)]); err != nil {
							b.Error(err)
						}
						i++
					}
				})
			})
			b.Run(fmt.Sprintf("List%d", listSize), func(b *testing.B) {
				st, _ := seed(b, listSize)
				b.SetParallelism(4)
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						l, err := st.ListSandboxes(ctx, store.SandboxFilter{States: []store.SandboxState{store.StateRunning}})
						if err != nil || len(l) != listSize {
							b.Errorf("list: %d sandboxes, %v", len(l), err)
						}
					}
				})
			})
			// A team's running sandboxes listed by state and metadata, as
			// a dashboard or the SDKs list them, on a store that also
			// keeps the team's history of ended sandboxes: a long-lived
			// server's.
			b.Run("ListRunningAmongEnded", func(b *testing.B) {
				const running, ended = 20, 5000
				st, ids := seed(b, running+ended)
				for _, id := range ids[running:] {
					if err := st.EndSandbox(ctx, id, store.ReasonKilled, "", time.Time{}); err != nil {
						b.Fatal(err)
					}
				}
				// The states the API lists as running: more than one,
				// which is what the query planner sees from the API.
				f := store.SandboxFilter{Team: "team", States: []store.SandboxState{store.StateStarting, store.StateRunning, store.StatePausing}, Metadata: map[string]string{"user": "u"}}
				b.SetParallelism(4)
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						l, err := st.ListSandboxes(ctx, f)
						if err != nil || len(l) != running {
							b.Errorf("list: %d sandboxes, %v", len(l), err)
						}
					}
				})
			})
			b.Run("SetEndAt", func(b *testing.B) {
				st, ids := seed(b, listSize)
				b.SetParallelism(4)
				b.ResetTimer()
				var n atomic.Int64
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						i := n.Add(1)
						if err := st.SetEndAt(ctx, ids[int(i)%len(ids)], time.Now().Add(time.Duration(i)*time.Second)); err != nil {
							b.Error(err)
						}
					}
				})
			})
		})
	}
}
