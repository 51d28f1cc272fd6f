package registry_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/node"
	"github.com/soulbox/soulbox/internal/nodeca"
	"github.com/soulbox/soulbox/internal/registry"
	"github.com/soulbox/soulbox/internal/scheduler"
	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/sqlite"
)

// benchRegistry is a registry on SQLite with an embedded node and joined
// nodes that heartbeated.
func benchRegistry(b *testing.B, joined, live int) *registry.Registry {
	ctx := context.Background()
	dir := b.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "soulbox.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	ca, err := nodeca.Open(filepath.Join(dir, "ca"))
	if err != nil {
		b.Fatal(err)
	}
	reg, err := registry.New(ctx, registry.Config{Store: st, CA: ca, Embedded: &node.Local{ID: "local"}})
	if err != nil {
		b.Fatal(err)
	}
	for i := range joined {
		id := fmt.Sprintf("node-%03d", i)
		if err := st.EnsureNode(ctx, store.Node{ID: id, Status: store.NodeReady}); err != nil {
			b.Fatal(err)
		}
		r := store.NodeReport{CPUCount: 16, MemoryTotalBytes: 64 << 30, AllocatedCPU: i % 30, Sandboxes: i % 50, Templates: []string{"l1", "l2"}}
		if _, err := st.RecordNodeHeartbeat(ctx, id, r, false, time.Time{}); err != nil {
			b.Fatal(err)
		}
	}
	// live sandboxes, spread over the joined nodes (the embedded node
	// without any), a tenth of them the placing team's.
	for i := range live {
		sb := store.Sandbox{ID: fmt.Sprintf("sb-%05d", i), TemplateID: "base", ClientID: "other", State: store.StateRunning, CPUCount: 1, MemoryMB: 256}
		if joined > 0 {
			sb.Node = fmt.Sprintf("node-%03d", i%joined)
		}
		if i%10 == 0 {
			sb.ClientID = "t"
		}
		if err := st.CreateSandbox(ctx, sb); err != nil {
			b.Fatal(err)
		}
	}
	return reg
}

// BenchmarkPlace is the create path's placement: the registry's view
// (read from the store at most once a second) and the scheduler's
// decision, with the embedded node alone and beside 100 joined nodes,
// and with 1,000 live sandboxes on them (counted from the store at each
// placement).
func BenchmarkPlace(b *testing.B) {
	for _, c := range []struct{ joined, live int }{{0, 0}, {100, 0}, {100, 1000}} {
		b.Run(fmt.Sprintf("joined=%d/live=%d", c.joined, c.live), func(b *testing.B) {
			reg := benchRegistry(b, c.joined, c.live)
			req := scheduler.Request{Template: "base", CPU: 2, MemoryBytes: 512 << 20, Team: "t"}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := reg.Place(context.Background(), req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
