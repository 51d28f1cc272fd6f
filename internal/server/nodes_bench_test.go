package server_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/auth"
	"github.com/soulbox/soulbox/internal/client"
)

// BenchmarkNodeHop measures what running a sandbox on a joined node
// costs against the embedded node, through the REST API of one server
// with one `soulbox node` child on this host (the other node drained in
// each case): a cold create (POST /sandboxes, 201), a request to the
// agent through the proxy (GET /health; on a joined node it goes through
// the node's Dial stream), and a command (client.Exec, the SDK's
// process.Start stream). Medians and 95th percentiles in ms.
//
//	go test -run '^$' -bench NodeHop -benchtime=10x ./internal/server
func BenchmarkNodeHop(b *testing.B) {
	bin := buildServer(b, "")
	cfg := testConfig(b)
	cfg.AdminKey, _, _ = auth.Generate()
	cfg.NodeListen = freeAddr(b)
	cfg.NodeHeartbeatTimeout = 3 * time.Second
	addr, stop := serveInProcess(b, cfg)
	defer stop()
	c := apiClient{t: b, base: "http://" + addr, key: cfg.AdminKey}
	listen := freeAddr(b)
	n, _ := joinRunningNode(b, c, bin, "https://"+cfg.NodeListen, "node-bench", listen, "10.247.20.0/24")
	waitDial(b, controlPlaneDriver(b, cfg, "node-bench", listen), n)
	var nodes []nodeJSON
	c.want(200, "GET", "/nodes", nil, &nodes)
	embedded := ""
	for _, nd := range nodes {
		if nd.ID != "node-bench" {
			embedded = nd.ID
		}
	}
	cl := &client.Client{BaseURL: c.base, APIKey: c.key}

	for _, bc := range []struct{ name, ready, drained string }{
		{"embedded", embedded, "node-bench"},
		{"joined-node", "node-bench", embedded},
	} {
		b.Run(bc.name, func(b *testing.B) {
			c.want(204, "POST", "/nodes/"+bc.ready, map[string]any{"status": "ready"}, nil)
			c.want(204, "POST", "/nodes/"+bc.drained, map[string]any{"status": "draining"}, nil)
			var create, health, exec []time.Duration
			for range b.N {
				var sb sandboxJSON
				t0 := time.Now()
				for {
					code, body, _ := c.do("POST", "/sandboxes", map[string]any{"templateID": "base", "timeout": 300, "secure": true})
					if code == 201 {
						if err := json.Unmarshal(body, &sb); err != nil {
							b.Fatal(err)
						}
						break
					}
					if code != 503 || time.Since(t0) > 15*time.Second { // the node's first heartbeat
						b.Fatalf("create = %d %s", code, body)
					}
					time.Sleep(100 * time.Millisecond)
					t0 = time.Now()
				}
				create = append(create, time.Since(t0))
				for range 20 {
					t1 := time.Now()
					if code, body := sandboxCall(b, c, sb, "GET", "/health", "", nil); code/100 != 2 {
						b.Fatalf("agent health = %d %s", code, body)
					}
					health = append(health, time.Since(t1))
				}
				got, err := cl.Get(context.Background(), sb.SandboxID)
				if err != nil {
					b.Fatal(err)
				}
				got.EnvdAccessToken = *sb.EnvdAccessToken
				for range 5 {
					t2 := time.Now()
					if code, err := cl.Exec(context.Background(), got, []string{"true"}, client.ExecOptions{}); err != nil || code != 0 {
						b.Fatalf("exec: %d %v", code, err)
					}
					exec = append(exec, time.Since(t2))
				}
				c.want(204, "DELETE", "/sandboxes/"+sb.SandboxID, nil, nil)
			}
			for _, m := range []struct {
				name string
				d    []time.Duration
			}{{"create", create}, {"proxy-health", health}, {"exec", exec}} {
				p50, p95 := percentiles(m.d)
				b.ReportMetric(p50, m.name+"-p50-ms")
				b.ReportMetric(p95, m.name+"-p95-ms")
			}
			b.ReportMetric(0, "ns/op")
		})
	}
}
