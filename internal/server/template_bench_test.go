package server_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/layer"
	"github.com/soulbox/soulbox/internal/runtime/oci/ocitest"
	"github.com/soulbox/soulbox/internal/server"
)

// BenchmarkTemplates measures what custom templates cost, each part
// reporting medians of its own timings (ns/op is not meaningful here):
// a fully cached rebuild through the API, a create from a new template
// cold and from its filled warm pool, and the disk ten templates built
// on the default one use against the sum of their sizes.
//
//	go test -run '^$' -bench BenchmarkTemplates -benchtime 1x ./internal/server/
func BenchmarkTemplates(b *testing.B) {
	c, cfg := runServer(b, func(cfg *server.Config) {
		privateTemplates(b, cfg)
		cfg.PoolPrewarm = "none"
	})
	nonce := make([]byte, 4)
	_, _ = rand.Read(nonce)
	tag := hex.EncodeToString(nonce)
	spec := func(i int) map[string]any {
		return map[string]any{
			"fromTemplate": "base",
			"steps": []map[string]any{{"type": "RUN", "args": []string{
				fmt.Sprintf("head -c 1048576 /dev/urandom > /home/user/data-%s-%d", tag, i)}}},
		}
	}
	const rounds = 15
	b.Cleanup(func() {
		for _, n := range []string{"bench-cached", "bench-cold", "bench-warm"} {
			c.do("DELETE", "/templates/"+n, nil)
		}
		for i := range 10 {
			c.do("DELETE", fmt.Sprintf("/templates/bench-disk-%d", i), nil)
		}
	})

	b.Run("CachedRebuild", func(b *testing.B) {
		buildTemplate(b, c, "bench-cached", spec(0))
		var took []time.Duration
		for range rounds {
			start := time.Now()
			buildTemplate(b, c, "bench-cached", spec(0))
			took = append(took, time.Since(start))
		}
		b.ReportMetric(ms(median(took)), "p50-ms")
		b.ReportMetric(ms(slices.Max(took)), "max-ms")
	})

	b.Run("CreateCold", func(b *testing.B) {
		buildTemplate(b, c, "bench-cold", spec(1))
		var took []time.Duration
		for range rounds {
			start := time.Now()
			var sb sandboxJSON
			c.want(201, "POST", "/sandboxes", map[string]any{"templateID": "bench-cold"}, &sb)
			took = append(took, time.Since(start))
			c.want(204, "DELETE", "/sandboxes/"+sb.SandboxID, nil, nil)
		}
		b.ReportMetric(ms(took[0]), "first-ms")
		b.ReportMetric(ms(median(took)), "p50-ms")
	})

	b.Run("CreateWarm", func(b *testing.B) {
		id := buildTemplate(b, c, "bench-warm", spec(2))
		c.want(200, "PUT", "/templates/bench-warm/pool", map[string]any{"min": 1, "max": 1}, nil)
		var took []time.Duration
		for range rounds {
			waitTemplatePool(b, c, id, 1)
			// Let the refill's work settle, as between real requests.
			time.Sleep(100 * time.Millisecond)
			start := time.Now()
			var sb sandboxJSON
			c.want(201, "POST", "/sandboxes", map[string]any{"templateID": "bench-warm"}, &sb)
			took = append(took, time.Since(start))
			c.want(204, "DELETE", "/sandboxes/"+sb.SandboxID, nil, nil)
		}
		if st, _ := templatePoolStats(b, c, id); st.Hits != rounds {
			b.Fatalf("%d of %d creates were pool hits", st.Hits, rounds)
		}
		b.ReportMetric(ms(took[0]), "first-ms")
		b.ReportMetric(ms(median(took)), "p50-ms")
	})

	b.Run("Disk10", func(b *testing.B) {
		layers := filepath.Join(cfg.DataDir, "layers")
		before := dirSet(b, layers)
		var own int64
		for i := range 10 {
			id := buildTemplate(b, c, fmt.Sprintf("bench-disk-%d", i), spec(10+i))
			var tpl struct {
				SizeBytes int64 `json:"sizeBytes"`
			}
			c.want(200, "GET", "/templates/"+id, nil, &tpl)
			own += tpl.SizeBytes
		}
		var added int64
		for d := range dirSet(b, layers) {
			if !before[d] {
				added += diskUsage(b, filepath.Join(layers, d))
			}
		}
		paths, err := ocitest.Templates(b).Layers(context.Background(), "base")
		if err != nil {
			b.Fatal(err)
		}
		var base int64
		for _, p := range paths {
			base += diskUsage(b, p)
		}
		b.ReportMetric(mib(base+added), "shared-MiB")
		b.ReportMetric(mib(10*base+own), "sum-of-sizes-MiB")
		b.ReportMetric(mib(base), "base-MiB")
		b.ReportMetric(mib(own), "own-layers-MiB")
	})
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
func mib(n int64) float64        { return float64(n) / (1 << 20) }

func dirSet(b *testing.B, dir string) map[string]bool {
	entries, err := os.ReadDir(dir)
	if err != nil {
		b.Fatal(err)
	}
	out := map[string]bool{}
	for _, e := range entries {
		out[e.Name()] = true
	}
	return out
}

func diskUsage(b *testing.B, dir string) int64 {
	n, err := layer.DiskUsage(dir)
	if err != nil {
		b.Fatal(err)
	}
	return n
}
