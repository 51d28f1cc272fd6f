package server_test

import (
	"context"
	"io"
	"net"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/server"
	"github.com/soulbox/soulbox/internal/store"
)

// relay forwards TCP connections on a local address to target, and can
// cut those open while taking new ones.
type relay struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func startRelay(t *testing.T, target string) *relay {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &relay{ln: ln}
	t.Cleanup(func() { ln.Close(); r.cut() })
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				in.Close()
				continue
			}
			r.mu.Lock()
			r.conns = append(r.conns, in, out)
			r.mu.Unlock()
			go func() { _, _ = io.Copy(out, in); out.Close() }()
			go func() { _, _ = io.Copy(in, out); in.Close() }()
		}
	}()
	return r
}

// cut closes every connection open through the relay.
func (r *relay) cut() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.conns {
		c.Close()
	}
	r.conns = nil
}

// TestJoinedNodePauseConnectionCut: the control plane's connection to a
// joined node is cut while the node checkpoints a sandbox; the dump
// goes on, the sandbox frozen. Settling the pause then must not take
// the frozen sandbox for a pause that never took (recorded running, its
// processes then stopped by the dump, and the sandbox ended by the
// monitor): the node says its checkpoint is under way, the sandbox
// stays pausing, and the next connect, once the dump has ended, finds
// it paused with its memory and resumes it, its counter on.
func TestJoinedNodePauseConnectionCut(t *testing.T) {
	if testing.Short() {
		t.Skip("creates real sandboxes")
	}
	const name = "node-cut"
	const pool = "10.247.27.0/24"
	bin := buildServer(t, "")
	nodeAddr := freeAddr(t)
	c, cfg := runServer(t, func(cfg *server.Config) {
		cfg.NodeListen = nodeAddr
		cfg.NodeHeartbeatTimeout = 3 * time.Second
	})
	listen := freeAddr(t)
	r := startRelay(t, listen)
	n, nodeDir := joinRunningNode(t, c, bin, "https://"+nodeAddr, name, listen, pool, "--advertise", r.ln.Addr().String())
	d := controlPlaneDriver(t, cfg, name, listen)
	waitDial(t, d, n)
	var made []string
	t.Cleanup(func() {
		for _, id := range made {
			c.do("DELETE", "/sandboxes/"+id, nil)
		}
		_ = n.cmd.Process.Signal(syscall.SIGTERM)
	})
	var nodes []nodeJSON
	c.want(200, "GET", "/nodes", nil, &nodes)
	for _, nd := range nodes {
		if nd.ID != name {
			c.want(204, "POST", "/nodes/"+nd.ID, map[string]any{"status": "draining"}, nil)
		}
	}
	sb := createOnNode(t, c, n, map[string]any{"timeout": 600}, &made)
	id := sb.SandboxID
	// Memory enough that the dump takes a while.
	if o, code := sh(t, c, sb, counterServer+" head -c 300000000 /dev/zero | tr '\\0' x > /dev/shm/fill; for i in $(seq 50); do curl -s localhost:8000 >/dev/null && exit 0; sleep 0.1; done; exit 1"); code != 0 {
		t.Fatalf("counter server did not start: %s", o)
	}
	if code, body := proxied(t, c, id, "8000"); code != 200 || body != "2" {
		t.Fatalf("counter through the proxy: %d %q", code, body)
	}

	paused := make(chan int, 1)
	go func() {
		code, _, _ := c.do("POST", "/sandboxes/"+id+"/pause", map[string]any{"memory": true})
		paused <- code
	}()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if st := storedSandbox(t, cfg, id).State; st == store.StatePausing {
			break
		} else if st != store.StateRunning || time.Now().After(deadline) {
			t.Fatalf("waiting for the pause to be recorded, the sandbox is %s", st)
		}
	}
	// The node is asked and dumping once CRIU writes its images into the
	// checkpoint's partial directory; a cut before that would test a
	// pause that never reached the node.
	images := filepath.Join(nodeDir, "checkpoints", "*.partial", "images", "*")
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if m, _ := filepath.Glob(images); len(m) > 0 {
			break
		}
		select {
		case code := <-paused:
			t.Fatalf("the pause answered %d before the node's dump wrote an image", code)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the node's dump wrote no image within 30 s")
		}
	}
	r.cut()
	var code int
	select {
	case code = <-paused:
	case <-time.After(60 * time.Second):
		t.Fatal("the pause did not answer once its connection was cut")
	}
	t.Logf("pause with its connection cut mid-dump: %d, recorded %s", code, storedSandbox(t, cfg, id).State)
	if code == 204 {
		t.Fatal("the dump ended before the cut: nothing was tested")
	}
	// The dump ends on the node.
	ctx := context.Background()
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if _, kept, err := d.KeptCheckpoint(ctx, id); err == nil && kept {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("the node's checkpoint did not complete: %v %v", kept, err)
		}
	}
	if st := storedSandbox(t, cfg, id); st.State == store.StateRunning || st.State == store.StateEnded {
		t.Errorf("with the node's checkpoint complete the sandbox is recorded %s (%s), want pausing or paused", st.State, st.EndReason)
	}
	time.Sleep(6 * time.Second) // a monitor pass (every 5 s)
	c.want(201, "POST", "/sandboxes/"+id+"/connect", map[string]any{"timeout": 600}, nil)
	if code, body := proxied(t, c, id, "8000"); code != 200 || body != "3" {
		t.Errorf("counter after the settled pause and a connect: %d %q, want 200 \"3\" (its memory)", code, body)
	}
	for _, ev := range sandboxEvents(t, cfg, id) {
		t.Logf("event %s: %s", ev.Type, ev.Message)
	}
	c.want(204, "DELETE", "/sandboxes/"+id, nil, nil)
}
