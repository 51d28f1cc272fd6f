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
func benchRegistry(b *testing.B, joined int) *registry.Registry {
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
	return reg
}

// BenchmarkPlace is the create path's placement: the registry's view
// (read from the store at most once a second) and the scheduler's
// decision, with the embedded node alone and beside 100 joined nodes.
func BenchmarkPlace(b *testing.B) {
	for _, joined := range []int{0, 100} {
		b.Run(fmt.Sprintf("joined=%d", joined), func(b *testing.B) {
			reg := benchRegistry(b, joined)
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
