package server_test

import (
	"context"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/client"
	"github.com/soulbox/soulbox/internal/server"
)

// BenchmarkJoinedNodePauseResume measures, as BenchmarkPauseResume does
// on the embedded node, POST /pause and POST /resume through the REST
// API of a control plane whose only ready node is a `soulbox node`
// child on the same host: the checkpoint and restore run on the node,
// each call one hop over its sandbox service. It reports medians and
// 95th percentiles in ms and the checkpoint's size the node reports.
//
//	go test -run '^$' -bench JoinedNodePauseResume -benchtime=10x ./internal/server
func BenchmarkJoinedNodePauseResume(b *testing.B) {
	const name = "node-bench-pause"
	bin := buildServer(b, "")
	nodeAddr := freeAddr(b)
	c, cfg := runServer(b, func(cfg *server.Config) {
		cfg.NodeListen = nodeAddr
		cfg.NodeHeartbeatTimeout = 3 * time.Second
	})
	listen := freeAddr(b)
	n, _ := joinRunningNode(b, c, bin, "https://"+nodeAddr, name, listen, "10.247.24.0/24")
	d := controlPlaneDriver(b, cfg, name, listen)
	waitDial(b, d, n)
	var nodes []nodeJSON
	c.want(200, "GET", "/nodes", nil, &nodes)
	for _, nd := range nodes {
		if nd.ID != name {
			c.want(204, "POST", "/nodes/"+nd.ID, map[string]any{"status": "draining"}, nil)
		}
	}
	cl := &client.Client{BaseURL: c.base, APIKey: cfg.AdminKey}
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
		{"python-server", counterServer + " for i in $(seq 50); do curl -s localhost:8000 >/dev/null && exit 0; sleep 0.1; done; exit 1", true},
		{"idle-filesystem-only", "true", false},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var pause, resume []time.Duration
			var size int64
			var made []string
			for range b.N {
				sb := createOnNode(b, c, n, map[string]any{"timeout": 600}, &made)
				run(sb.SandboxID, *sb.EnvdAccessToken, bc.setup)
				t0 := time.Now()
				c.want(204, "POST", "/sandboxes/"+sb.SandboxID+"/pause", map[string]any{"memory": bc.memory}, nil)
				t1 := time.Now()
				if s, _, err := d.KeptCheckpoint(context.Background(), sb.SandboxID); err == nil {
					size += s
				}
				t2 := time.Now()
				c.want(201, "POST", "/sandboxes/"+sb.SandboxID+"/resume", map[string]any{"timeout": 600}, nil)
				t3 := time.Now()
				pause, resume = append(pause, t1.Sub(t0)), append(resume, t3.Sub(t2))
				c.want(204, "DELETE", "/sandboxes/"+sb.SandboxID, nil, nil)
			}
			for _, m := range []struct {
				name string
				d    []time.Duration
			}{{"pause", pause}, {"resume", resume}} {
				p50, p95 := percentiles(m.d)
				b.ReportMetric(p50, m.name+"-p50-ms")
				b.ReportMetric(p95, m.name+"-p95-ms")
			}
			b.ReportMetric(float64(size)/float64(b.N)/(1<<20), "checkpoint-MiB")
			b.ReportMetric(0, "ns/op")
		})
	}
}
