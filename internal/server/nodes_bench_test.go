package server_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/auth"
	"github.com/soulbox/soulbox/internal/client"
	"github.com/soulbox/soulbox/internal/runtime/oci"
	"github.com/soulbox/soulbox/internal/server"
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

// BenchmarkNodeHopWarm measures what a warm create costs on a joined
// node against the embedded node: two servers in this process, one
// whose embedded node runs the sandboxes, one whose only ready node is
// a `soulbox node` child, each with a warm pool of two base sandboxes
// (no interpreter prewarmed), created on alternately (which goes first
// alternates too). Each create must be served from the pool (its
// sandbox one the pool held); both pools are full again before the next
// round, so no refill competes with the measured calls. Reported:
// POST /sandboxes alone, and from it to the end of the first command
// (client.Exec "true"), medians and 95th percentiles in ms, and the
// medians' differences (the hop).
//
//	go test -run '^$' -bench NodeHopWarm -benchtime=20x ./internal/server
func BenchmarkNodeHopWarm(b *testing.B) {
	bin := buildServer(b, "")
	warm := func(cfg *server.Config) { cfg.PoolMin, cfg.PoolMax, cfg.PoolPrewarm = 2, 2, "none" }
	ecfg := testConfig(b)
	ecfg.AdminKey, _, _ = auth.Generate()
	warm(&ecfg)
	eaddr, estop := serveInProcess(b, ecfg)
	defer estop()
	ec := apiClient{t: b, base: "http://" + eaddr, key: ecfg.AdminKey}

	cfg := testConfig(b)
	cfg.AdminKey, _, _ = auth.Generate()
	cfg.NodeListen = freeAddr(b)
	cfg.NodeHeartbeatTimeout = 3 * time.Second
	addr, stop := serveInProcess(b, cfg)
	defer stop()
	nc := apiClient{t: b, base: "http://" + addr, key: cfg.AdminKey}
	listen := freeAddr(b)
	n, dir := joinRunningNode(b, nc, bin, "https://"+cfg.NodeListen, "node-warm", listen, "10.247.22.0/24",
		"--pool-min", "2", "--pool-max", "2", "--pool-prewarm", "none")
	waitDial(b, controlPlaneDriver(b, cfg, "node-warm", listen), n)
	var nodes []nodeJSON
	nc.want(200, "GET", "/nodes", nil, &nodes)
	for _, nd := range nodes {
		if nd.ID != "node-warm" {
			nc.want(204, "POST", "/nodes/"+nd.ID, map[string]any{"status": "draining"}, nil)
		}
	}
	rt := nodeRuntime(b, dir)

	// pooled waits for a side's pool to hold two ready sandboxes and
	// returns them (the embedded side's by its runtime's unowned ones).
	ert := nodeRuntime(b, ecfg.DataDir)
	pooled := func(c apiClient, d *oci.Driver) []string {
		deadline := time.Now().Add(90 * time.Second)
		for {
			ids := nodePooled(b, c, d)
			ready := len(ids) == 2
			if ready && c.base == ec.base {
				var h healthJSON
				c.want(200, "GET", "/health", nil, &h)
				ready = len(h.Pool) == 1 && h.Pool[0].Ready == 2
			}
			if ready && c.base == nc.base {
				// The heartbeat after the refill: placement prefers the
				// node for base only once it says so (not needed here,
				// the node being the only one ready, but the figure is
				// then the steady state).
				ready = slices.Contains(nodeReport(b, cfg, "node-warm").Pooled, "base")
			}
			if ready {
				return ids
			}
			if time.Now().After(deadline) {
				b.Fatalf("pool at %s never refilled: %v\nnode:\n%s", c.base, ids, n.stderr)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	type side struct {
		name          string
		c             apiClient
		rt            *oci.Driver
		create, first []time.Duration
	}
	sides := []*side{{name: "embedded", c: ec, rt: ert}, {name: "joined-node", c: nc, rt: rt}}
	// The node's first heartbeat with its address makes it a place for
	// sandboxes: one create, not measured.
	for _, s := range sides {
		pooled(s.c, s.rt)
		var made []string
		createOnNode(b, s.c, n, map[string]any{"timeout": 300}, &made)
		s.c.want(204, "DELETE", "/sandboxes/"+made[0], nil, nil)
	}
	b.ResetTimer()
	for i := range b.N {
		for j := range sides {
			s := sides[(i+j)%2]
			held := pooled(s.c, s.rt)
			cl := &client.Client{BaseURL: s.c.base, APIKey: s.c.key}
			t0 := time.Now()
			code, body, _ := s.c.do("POST", "/sandboxes", map[string]any{"templateID": "base", "timeout": 300, "secure": true})
			created := time.Since(t0)
			if code != 201 {
				b.Fatalf("%s: create = %d %s", s.name, code, body)
			}
			var sb sandboxJSON
			if err := json.Unmarshal(body, &sb); err != nil {
				b.Fatal(err)
			}
			got := client.Sandbox{SandboxID: sb.SandboxID, EnvdAccessToken: *sb.EnvdAccessToken}
			if code, err := cl.Exec(context.Background(), got, []string{"true"}, client.ExecOptions{}); err != nil || code != 0 {
				b.Fatalf("%s: exec: %d %v", s.name, code, err)
			}
			first := time.Since(t0)
			if !slices.Contains(held, sb.SandboxID) {
				b.Fatalf("%s: the create made %s, not one of the pool's %v", s.name, sb.SandboxID, held)
			}
			s.create = append(s.create, created)
			s.first = append(s.first, first)
			s.c.want(204, "DELETE", "/sandboxes/"+sb.SandboxID, nil, nil)
		}
	}
	b.StopTimer()
	var p50 [2][2]float64
	for k, s := range sides {
		for m, d := range [][]time.Duration{s.create, s.first} {
			name := []string{"create", "create+first-command"}[m]
			med, p95 := percentiles(d)
			p50[k][m] = med
			b.ReportMetric(med, s.name+"-"+name+"-p50-ms")
			b.ReportMetric(p95, s.name+"-"+name+"-p95-ms")
		}
	}
	b.ReportMetric(p50[1][0]-p50[0][0], "hop-create-p50-ms")
	b.ReportMetric(p50[1][1]-p50[0][1], "hop-create+first-command-p50-ms")
	b.ReportMetric(0, "ns/op")
}
