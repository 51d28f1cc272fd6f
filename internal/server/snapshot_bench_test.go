package server_test

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/auth"
	"github.com/soulbox/soulbox/internal/client"
	"github.com/soulbox/soulbox/internal/runtime/oci/ocitest"
	"github.com/soulbox/soulbox/internal/server"
)

// BenchmarkSnapshotFork measures, through the REST API of a real server
// with a template directory of its own: POST /sandboxes/{id}/snapshots of
// a running sandbox holding 10 MiB of new files (processes and memory
// included), a create restored from that snapshot, and POST /fork of
// forkN sandboxes (with their memory; each fork is checked to run a
// command and see the source's file, untimed). It reports medians and
// 95th percentiles in ms and what a snapshot adds to the layer store.
//
//	go test -run '^$' -bench SnapshotFork -benchtime=5x ./internal/server
func BenchmarkSnapshotFork(b *testing.B) {
	const forkN = 10
	cfg := server.Defaults()
	cfg.Listen = "127.0.0.1:0"
	cfg.DataDir = ocitest.Root(b)
	cfg.AgentPath = ocitest.AgentBinary(b)
	cfg.PoolMin, cfg.PoolMax = 0, 0
	cfg.MaxSandboxes = forkN + 2
	cfg.AdminKey, _, _ = auth.Generate()
	privateTemplates(b, &cfg)
	addr, stop := serveInProcess(b, cfg)
	defer stop()
	base := "http://" + addr
	api := apiClient{t: b, base: base, key: cfg.AdminKey}
	call := func(method, path string, body any, want int, out any) { api.want(want, method, path, body, out) }
	var snapT, createT, forkT []time.Duration
	var size int64
	for range b.N {
		var src sandboxJSON
		call("POST", "/sandboxes", map[string]any{"templateID": "base", "timeout": 600}, 201, &src)
		benchRun(b, base, cfg.AdminKey, src, "head -c 10485760 /dev/urandom > /home/user/data.bin")
		before := dirSize(filepath.Join(cfg.DataDir, "layers"))
		t0 := time.Now()
		var snap snapshotJSON
		call("POST", "/sandboxes/"+src.SandboxID+"/snapshots", nil, 201, &snap)
		t1 := time.Now()
		size += dirSize(filepath.Join(cfg.DataDir, "layers")) - before
		var child sandboxJSON
		call("POST", "/sandboxes", map[string]any{"templateID": snap.SnapshotID, "timeout": 600}, 201, &child)
		t2 := time.Now()
		call("DELETE", "/sandboxes/"+child.SandboxID, nil, 204, nil)
		t3 := time.Now()
		var forks []forkResultJSON
		call("POST", "/sandboxes/"+src.SandboxID+"/fork", map[string]any{"count": forkN}, 201, &forks)
		t4 := time.Now()
		snapT, createT, forkT = append(snapT, t1.Sub(t0)), append(createT, t2.Sub(t1)), append(forkT, t4.Sub(t3))
		for _, f := range forks {
			if f.Sandbox == nil {
				b.Fatalf("fork failed: %+v", f.Error)
			}
			benchRun(b, base, cfg.AdminKey, *f.Sandbox, "test -s /home/user/data.bin")
			call("DELETE", "/sandboxes/"+f.Sandbox.SandboxID, nil, 204, nil)
		}
		call("DELETE", "/sandboxes/"+src.SandboxID, nil, 204, nil)
		var snaps []snapshotJSON
		call("GET", "/snapshots", nil, 200, &snaps)
		for _, s := range snaps {
			call("DELETE", "/templates/"+s.SnapshotID, nil, 204, nil)
		}
	}
	for _, m := range []struct {
		name string
		d    []time.Duration
	}{{"snapshot", snapT}, {"create-from-snapshot", createT}, {"fork-of-" + strconv.Itoa(forkN), forkT}} {
		p50, p95 := percentiles(m.d)
		b.ReportMetric(p50, m.name+"-p50-ms")
		b.ReportMetric(p95, m.name+"-p95-ms")
	}
	b.ReportMetric(float64(size)/float64(b.N)/(1<<20), "snapshot-layer-MiB")
	b.ReportMetric(0, "ns/op")
}

// benchRun runs a shell script in sandbox sb through its agent.
func benchRun(b *testing.B, base, key string, sb sandboxJSON, script string) {
	cl := &client.Client{BaseURL: base, APIKey: key}
	got, err := cl.Get(context.Background(), sb.SandboxID)
	if err != nil {
		b.Fatal(err)
	}
	got.EnvdAccessToken = *sb.EnvdAccessToken
	if code, err := cl.Exec(context.Background(), got, []string{"bash", "-c", script}, client.ExecOptions{}); err != nil || code != 0 {
		b.Fatalf("exec %q: %d %v", script, code, err)
	}
}
