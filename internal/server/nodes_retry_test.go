package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/server"
)

// switchProxy forwards TCP connections to target until down, which
// closes its listener and every connection it forwards: the address
// then refuses connections, as a node's sandbox service that died.
type switchProxy struct {
	target string
	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]bool
}

func startSwitchProxy(t *testing.T, addr, target string) *switchProxy {
	t.Helper()
	p := &switchProxy{target: target, conns: map[net.Conn]bool{}}
	p.up(t, addr)
	t.Cleanup(p.down)
	return p
}

// up listens on addr again.
func (p *switchProxy) up(t *testing.T, addr string) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.forward(c)
		}
	}()
}

func (p *switchProxy) forward(c net.Conn) {
	u, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	p.conns[c], p.conns[u] = true, true
	p.mu.Unlock()
	go func() { _, _ = io.Copy(u, c); u.Close() }()
	_, _ = io.Copy(c, u)
	c.Close()
}

// down refuses new connections and cuts the ones open.
func (p *switchProxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

// TestCreateRetriedOnAnotherNode: node-a heartbeats and is ready, but
// its sandbox service (at the address it advertises) stops answering
// just before a create is placed on it: the create goes, once, to
// node-b and succeeds; the attempt on node-a is recorded as ended with
// the reason, and node-a runs nothing.
func TestCreateRetriedOnAnotherNode(t *testing.T) {
	if testing.Short() {
		t.Skip("creates real sandboxes")
	}
	bin := buildServer(t, "")
	nodeAddr := freeAddr(t)
	c, cfg := runServer(t, func(cfg *server.Config) {
		cfg.NodeListen = nodeAddr
		cfg.NodeHeartbeatTimeout = 3 * time.Second
	})
	listenA, proxyAddr := freeAddr(t), freeAddr(t)
	proxy := startSwitchProxy(t, proxyAddr, listenA)
	a, _ := joinRunningNode(t, c, bin, "https://"+nodeAddr, "node-a", listenA, "10.247.118.0/24", "--advertise", proxyAddr)
	driverA := controlPlaneDriver(t, cfg, "node-a", listenA)
	waitDial(t, driverA, a)
	listenB := freeAddr(t)
	b, _ := joinRunningNode(t, c, bin, "https://"+nodeAddr, "node-b", listenB, "10.247.117.0/24")
	driverB := controlPlaneDriver(t, cfg, "node-b", listenB)
	waitDial(t, driverB, b)
	// Only the two joined nodes take creates; ties go to node-a.
	var nodes []nodeJSON
	c.want(200, "GET", "/nodes", nil, &nodes)
	for _, nd := range nodes {
		if nd.ID != "node-a" && nd.ID != "node-b" {
			c.want(204, "POST", "/nodes/"+nd.ID, map[string]any{"status": "draining"}, nil)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var events eventLog
	_, ch := openEvents(t, ctx, c.base, c.key, "", "")
	go events.follow(ch)

	// The control plane probes node-a's service every heartbeat
	// interval; a probe between the service's death and the create
	// steers the create to node-b before it tries node-a. Then node-a
	// comes back and the create is tried again.
	for attempt := 1; ; attempt++ {
		deadline := time.Now().Add(30 * time.Second)
		for nodeStatus(c, "node-a") != "ready" {
			if time.Now().After(deadline) {
				t.Fatalf("node-a is not ready again\nnode:\n%s", a.stderr)
			}
			time.Sleep(100 * time.Millisecond)
		}
		time.Sleep(1200 * time.Millisecond) // the placement's view of the nodes is up to a second old
		proxy.down()
		time.Sleep(50 * time.Millisecond) // the control plane sees its connection cut
		code, body, _ := c.do("POST", "/sandboxes", map[string]any{"templateID": "base", "timeout": 120})
		if code != 201 {
			t.Fatalf("create with node-a's service gone = %d %s\nnode-a:\n%s", code, body, a.stderr)
		}
		var sb sandboxJSON
		if err := json.Unmarshal(body, &sb); err != nil {
			t.Fatal(err)
		}
		if info, err := driverB.Info(context.Background(), sb.SandboxID); err != nil {
			t.Errorf("the sandbox created is not on node-b: %+v, %v", info, err)
		}
		if onA, err := driverA.List(context.Background()); err != nil || len(onA) != 0 {
			t.Errorf("node-a runs %+v, %v; want nothing", onA, err)
		}
		var failed []sseEvent
		deadline = time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			failed = events.ofType("ended", "node node-a was not reached")
			if len(failed) > 0 {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		c.want(204, "DELETE", "/sandboxes/"+sb.SandboxID, nil, nil)
		if len(failed) == 1 {
			if failed[0].data.Reason != "error" || failed[0].data.SandboxID == sb.SandboxID {
				t.Errorf("the attempt on node-a ended %+v; want reason error, another id than %s", failed[0].data, sb.SandboxID)
			}
			if evs := events.of(failed[0].data.SandboxID, "started"); len(evs) != 0 {
				t.Errorf("the attempt on node-a started: %+v", evs)
			}
			return
		}
		if len(failed) > 1 || attempt == 4 {
			t.Fatalf("attempt %d: %d ended records of node-a's attempts; want exactly one", attempt, len(failed))
		}
		t.Logf("attempt %d: a probe found node-a's service gone before the create; again", attempt)
		proxy.up(t, proxyAddr)
	}
}
