package storetest_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/tenancy"
)

// BenchmarkQuotaCreate is the store's share of a cold create: the
// team's quota checked and the sandbox recorded, for a team with 20
// live sandboxes, one create at a time (each ended, untimed, before the
// next, so the team's load stays the same). Checked is how a create did
// it under a lock of its process (the team's live sandboxes listed, its
// row read, then the insert); InStore is CreateSandboxIf, the same in
// one transaction:
//
//	go test -run '^$' -bench QuotaCreate ./internal/store/storetest/
func BenchmarkQuotaCreate(b *testing.B) {
	const live = 20
	admit := func(l store.TeamLoad) error {
		return tenancy.Admit(l.Quota, tenancy.Usage{Sandboxes: l.Sandboxes, CPUs: l.CPUs, MemoryMB: l.MemoryMB}, 2, 512)
	}
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			open := be.setup(b).open
			ctx := context.Background()
			newSandbox := func(n int) store.Sandbox {
				return store.Sandbox{
					ID: fmt.Sprintf("sb%08d", n), TemplateID: "base", ClientID: "team-bench", State: store.StateStarting,
					CPUCount: 2, MemoryMB: 512, EnvdAccessToken: "token", EndAt: time.Now().Add(time.Hour),
					Metadata: map[string]string{"user": "u"},
				}
			}
			seed := func(b *testing.B) store.Store {
				st := open(b)
				b.Cleanup(func() { st.Close() })
				if err := st.CreateTeam(ctx, store.Team{ID: "team-bench", Name: "bench", Quota: store.Quota{Sandboxes: 1000}}); err != nil {
					b.Fatal(err)
				}
				for i := range live {
					if err := st.CreateSandbox(ctx, newSandbox(i)); err != nil {
						b.Fatal(err)
					}
				}
				return st
			}
			run := func(b *testing.B, create func(st store.Store, sb store.Sandbox) error) {
				st := seed(b)
				b.ResetTimer()
				for i := range b.N {
					sb := newSandbox(live + i)
					if err := create(st, sb); err != nil {
						b.Fatal(err)
					}
					b.StopTimer()
					if err := st.EndSandbox(ctx, sb.ID, store.ReasonKilled, "", time.Time{}); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
				}
			}
			b.Run("Checked", func(b *testing.B) {
				var mu sync.Mutex
				run(b, func(st store.Store, sb store.Sandbox) error {
					mu.Lock()
					defer mu.Unlock()
					u, err := tenancy.TeamUsage(ctx, st, sb.ClientID)
					if err != nil {
						return err
					}
					q, err := tenancy.TeamQuota(ctx, st, sb.ClientID)
					if err != nil {
						return err
					}
					if err := tenancy.Admit(q, u, sb.CPUCount, sb.MemoryMB); err != nil {
						return err
					}
					return st.CreateSandbox(ctx, sb)
				})
			})
			b.Run("InStore", func(b *testing.B) {
				run(b, func(st store.Store, sb store.Sandbox) error {
					return st.CreateSandboxIf(ctx, sb, admit)
				})
			})
		})
	}
}
