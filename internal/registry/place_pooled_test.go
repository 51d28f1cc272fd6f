package registry_test

import (
	"context"
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

// TestPlacePrefersWarmPools: a create goes to the node with a warm
// sandbox of its template ready, the embedded node (whose pool is asked,
// it sends no heartbeat) or a joined node (by its last heartbeat's
// pooled templates), over a node with more room but none ready.
func TestPlacePrefersWarmPools(t *testing.T) {
	for _, tc := range []struct {
		name             string
		embedded, joined []string
		template         string
		want             string
	}{
		{"joined node warm", nil, []string{"base"}, "base", "n1"},
		{"embedded node warm", []string{"base"}, nil, "base", "local"},
		{"another template warm", []string{"other"}, nil, "base", "n1"},
		{"both warm: room decides", []string{"base"}, []string{"base"}, "base", "n1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			st, err := sqlite.Open(ctx, filepath.Join(dir, "soulbox.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			ca, err := nodeca.Open(filepath.Join(dir, "ca"))
			if err != nil {
				t.Fatal(err)
			}
			local := &node.Local{ID: "local", Pooled: func() []string { return tc.embedded }}
			reg, err := registry.New(ctx, registry.Config{Store: st, CA: ca, Embedded: local})
			if err != nil {
				t.Fatal(err)
			}
			if err := st.EnsureNode(ctx, store.Node{ID: "n1", Status: store.NodeReady}); err != nil {
				t.Fatal(err)
			}
			r := store.NodeReport{CPUCount: 16, MemoryTotalBytes: 64 << 30, ServiceAddress: "127.0.0.1:1", Pooled: tc.joined}
			if _, err := st.RecordNodeHeartbeat(ctx, "n1", r, false, time.Time{}); err != nil {
				t.Fatal(err)
			}
			d, err := reg.Place(ctx, scheduler.Request{Template: tc.template, CPU: 2, MemoryBytes: 512 << 20, Team: "t"})
			if err != nil {
				t.Fatal(err)
			}
			if d.NodeID != tc.want {
				t.Errorf("placed on %s (score %v), want %s", d.NodeID, d.Score, tc.want)
			}
		})
	}
}
