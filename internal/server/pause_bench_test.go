package server_test

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/auth"
	"github.com/soulbox/soulbox/internal/client"
	"github.com/soulbox/soulbox/internal/runtime/oci/ocitest"
	"github.com/soulbox/soulbox/internal/server"
)

// BenchmarkPauseResume measures, through the REST API of a real server,
// POST /pause and POST /resume of a fresh sandbox (runc restores a
// sandbox once, so each round creates one, untimed), and the first
// command after the resume: idle (the agent only), a Python process
// holding 100 MB of written (so resident) memory, a Python HTTP server
// holding a counter, and a filesystem-only pause of an idle one. It
// reports medians and 95th percentiles in ms and the checkpoint's size.
//
//	go test -run '^$' -bench PauseResume -benchtime=20x ./internal/server
func BenchmarkPauseResume(b *testing.B) {
	cfg := server.Defaults()
	cfg.Listen = "127.0.0.1:0"
	cfg.DataDir = ocitest.Root(b)
	cfg.TemplatesDir = ocitest.TemplateCache()
	cfg.AgentPath = ocitest.AgentBinary(b)
	cfg.PoolMin, cfg.PoolMax = 0, 0
	cfg.AdminKey, _, _ = auth.Generate()
	addr, stop := serveInProcess(b, cfg)
	defer stop()
	base := "http://" + addr
	api := apiClient{t: b, base: base, key: cfg.AdminKey}
	call := func(method, path string, body any, want int, out any) { api.want(want, method, path, body, out) }
	cl := &client.Client{BaseURL: base, APIKey: cfg.AdminKey}
	run := func(id, token, script string) {
		sb, err := cl.Get(context.Background(), id)
		if err != nil {
			b.Fatal(err)
		}
		sb.EnvdAccessToken = token
		if code, err := cl.Exec(context.Background(), sb, []string{"bash", "-c", script}, client.ExecOptions{}); err != nil || code != 0 {
			b.Fatalf("exec %q: %d %v", script, code, err)
		}
	}

	for _, bc := range []struct {
		name   string
		setup  string
		memory bool
	}{
		{"idle", "true", true},
		{"python-100MB", python100MB, true},
		{"python-server", counterServer + " for i in $(seq 50); do curl -s localhost:8000 >/dev/null && exit 0; sleep 0.1; done; exit 1", true},
		{"idle-filesystem-only", "true", false},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var pause, resume, first []time.Duration
			var size int64
			for range b.N {
				var sb sandboxJSON
				call("POST", "/sandboxes", map[string]any{"templateID": "base", "timeout": 600}, 201, &sb)
				run(sb.SandboxID, *sb.EnvdAccessToken, bc.setup)
				t0 := time.Now()
				call("POST", "/sandboxes/"+sb.SandboxID+"/pause", map[string]any{"memory": bc.memory}, 204, nil)
				t1 := time.Now()
				size += dirSize(filepath.Join(cfg.DataDir, "checkpoints", sb.SandboxID))
				call("POST", "/sandboxes/"+sb.SandboxID+"/resume", map[string]any{"timeout": 600}, 201, nil)
				t2 := time.Now()
				run(sb.SandboxID, *sb.EnvdAccessToken, "true")
				t3 := time.Now()
				pause, resume, first = append(pause, t1.Sub(t0)), append(resume, t2.Sub(t1)), append(first, t3.Sub(t2))
				call("DELETE", "/sandboxes/"+sb.SandboxID, nil, 204, nil)
			}
			for _, m := range []struct {
				name string
				d    []time.Duration
			}{{"pause", pause}, {"resume", resume}, {"first-cmd", first}} {
				p50, p95 := percentiles(m.d)
				b.ReportMetric(p50, m.name+"-p50-ms")
				b.ReportMetric(p95, m.name+"-p95-ms")
			}
			b.ReportMetric(float64(size)/float64(b.N)/(1<<20), "checkpoint-MiB")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// python100MB starts a Python process that writes, so keeps resident,
// 100 MB of its own memory, and waits until it has.
const python100MB = `setsid python3 -c '
import time
b = bytearray(100 << 20)
for i in range(0, len(b), 4096): b[i] = 1
open("/tmp/ready", "w").close()
time.sleep(1e9)' </dev/null >/dev/null 2>&1 &
while [ ! -e /tmp/ready ]; do sleep 0.05; done`

// dirSize is the bytes of the regular files under dir (0 if none).
func dirSize(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, e os.DirEntry, err error) error {
		if err == nil && e.Type().IsRegular() {
			if fi, err := e.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// percentiles returns the median and the 95th percentile in ms (nearest
// rank).
func percentiles(d []time.Duration) (p50, p95 float64) {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	at := func(q float64) float64 {
		i := int(q*float64(len(s))+0.5) - 1
		i = max(0, min(len(s)-1, i))
		return float64(s[i].Microseconds()) / 1000
	}
	return at(0.50), at(0.95)
}
