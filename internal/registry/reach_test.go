package registry_test

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/node"
	"github.com/soulbox/soulbox/internal/nodeca"
	"github.com/soulbox/soulbox/internal/registry"
	"github.com/soulbox/soulbox/internal/scheduler"
	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/sqlite"
)

// closedAddr is a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// tcpProber probes by connecting, counting the probes of each node.
type tcpProber struct {
	mu     sync.Mutex
	probes map[string]int
}

func (p *tcpProber) probe(ctx context.Context, node, addr string) error {
	p.mu.Lock()
	p.probes[node]++
	p.mu.Unlock()
	c, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	return c.Close()
}

func (p *tcpProber) count(node string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.probes[node]
}

// TestPlaceSkipsUnreachableNodes: a joined node that heartbeats but
// whose sandbox service refuses connections is probed once when it is
// chosen, the create goes to the other node, and the node is skipped
// (without further probes) for its backoff, shown unhealthy with the
// reason; once its service answers after the backoff it is chosen
// again. When no node can be reached the refusal says why for each.
func TestPlaceSkipsUnreachableNodes(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "soulbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ca, err := nodeca.Open(filepath.Join(dir, "ca"))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	reg, err := registry.New(ctx, registry.Config{Store: st, CA: ca, HeartbeatTimeout: 3 * time.Second, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProber{probes: map[string]int{}}
	reg.UseProber(p.probe)

	good, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer good.Close()
	go func() {
		for {
			c, err := good.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	bad := closedAddr(t)
	// "bad" has more room, so the scheduler prefers it.
	for _, n := range []struct {
		id, addr string
		cpus     int
	}{{"bad", bad, 16}, {"good", good.Addr().String(), 2}} {
		if err := st.EnsureNode(ctx, store.Node{ID: n.id, Status: store.NodeReady}); err != nil {
			t.Fatal(err)
		}
		rep := store.NodeReport{CPUCount: n.cpus, MemoryTotalBytes: 16 << 30, ServiceAddress: n.addr}
		if _, err := st.RecordNodeHeartbeat(ctx, n.id, rep, false, time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	req := scheduler.Request{Template: "base", CPU: 1, MemoryBytes: 512 << 20}

	d, err := reg.Place(ctx, req)
	if err != nil || d.NodeID != "good" {
		t.Fatalf("place beside a node that refuses connections = %+v, %v; want good", d, err)
	}
	if p.count("bad") != 1 {
		t.Fatalf("bad was probed %d times; want once", p.count("bad"))
	}
	status := func(id string) node.Info {
		t.Helper()
		ns, err := reg.Nodes(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range ns {
			if n.ID == id {
				return n
			}
		}
		t.Fatalf("node %s not listed", id)
		return node.Info{}
	}
	if n := status("bad"); n.Status != node.Status(store.NodeUnhealthy) || !strings.Contains(n.StatusReason, bad) || !strings.Contains(n.StatusReason, "refused") {
		t.Errorf("bad is listed %s (%q); want unhealthy naming %s and the refusal", n.Status, n.StatusReason, bad)
	}
	if n := status("good"); n.Status != node.Status(store.NodeReady) || n.StatusReason != "" {
		t.Errorf("good is listed %s (%q); want ready", n.Status, n.StatusReason)
	}

	// Within the backoff, bad is not tried again.
	for range 3 {
		if d, err := reg.Place(ctx, req); err != nil || d.NodeID != "good" {
			t.Fatalf("place within bad's backoff = %+v, %v; want good", d, err)
		}
	}
	if p.count("bad") != 1 {
		t.Errorf("bad was probed %d times within its backoff; want once", p.count("bad"))
	}

	// With good drained, nothing fits, and the refusal says why bad
	// cannot take it.
	if err := reg.SetStatus(ctx, "good", store.NodeDraining); err != nil {
		t.Fatal(err)
	}
	_, err = reg.Place(ctx, req)
	if !errors.Is(err, errdefs.ErrUnavailable) || !strings.Contains(err.Error(), "node bad cannot be reached") || !strings.Contains(err.Error(), bad) {
		t.Fatalf("place with good drained and bad unreachable = %v; want unavailable saying bad cannot be reached", err)
	}

	// Past its backoff, bad is tried again: still refusing, it is not
	// chosen, and its backoff doubles.
	advance(2 * time.Second)
	if _, err := reg.Place(ctx, req); !errors.Is(err, errdefs.ErrUnavailable) || p.count("bad") != 2 {
		t.Fatalf("place past bad's backoff = %v, %d probes; want a refusal after a second probe", err, p.count("bad"))
	}
	if n := status("bad"); !strings.Contains(n.StatusReason, "2 failed tries") {
		t.Errorf("bad's reason after two failures = %q", n.StatusReason)
	}

	// Its service answers again: past the backoff it is probed and
	// chosen.
	l, err := net.Listen("tcp", bad)
	if err != nil {
		t.Skipf("the closed port was taken meanwhile: %v", err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	advance(5 * time.Second)
	if d, err := reg.Place(ctx, req); err != nil || d.NodeID != "bad" {
		t.Fatalf("place once bad answers = %+v, %v; want bad", d, err)
	}
	if n := status("bad"); n.Status != node.Status(store.NodeReady) || n.StatusReason != "" {
		t.Errorf("bad answering is listed %s (%q); want ready", n.Status, n.StatusReason)
	}
}

// TestServiceFailedSkipsNode: a call that did not reach a node, as its
// remote driver reports it, makes placement skip the node at once,
// saying why; calls failing together count once.
func TestServiceFailedSkipsNode(t *testing.T) {
	ctx := context.Background()
	_, reg := placeEnv(t, store.NodeReport{CPUCount: 8, MemoryTotalBytes: 16 << 30})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	// placeEnv's node n1 reports 127.0.0.1:1; probes reach the listener
	// whatever the address, so only the reports decide.
	reg.UseProber(func(ctx context.Context, _, _ string) error {
		c, err := (&net.Dialer{}).DialContext(ctx, "tcp", l.Addr().String())
		if err != nil {
			return err
		}
		return c.Close()
	})
	req := scheduler.Request{Template: "base", CPU: 1, MemoryBytes: 512 << 20}
	if d, err := reg.Place(ctx, req); err != nil || d.NodeID != "n1" {
		t.Fatalf("place = %+v, %v; want n1", d, err)
	}
	for range 3 {
		reg.ServiceFailed("n1", "127.0.0.1:1", errors.New("read: connection reset by peer"))
	}
	_, err = reg.Place(ctx, req)
	if !errors.Is(err, errdefs.ErrUnavailable) || !strings.Contains(err.Error(), "connection reset by peer") || !strings.Contains(err.Error(), "1 failed tries") {
		t.Fatalf("place after the node's calls failed = %v; want unavailable naming the failure, counted once", err)
	}
}
