package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/auth"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/server"
	"github.com/soulbox/soulbox/internal/store/postgres/pgtest"
	"github.com/soulbox/soulbox/internal/testutil"
)

// replicaConfig is a control plane without an embedded node on the
// PostgreSQL database url, sharing keysDir and the admin key.
func replicaConfig(t *testing.T, url, keysDir, adminKey string) server.Config {
	cfg := testConfig(t)
	cfg.Store = url
	cfg.EmbeddedNode = "off"
	cfg.NodeListen = freeAddr(t)
	cfg.KeysDir = keysDir
	cfg.AdminKey = adminKey
	cfg.NodeHeartbeatTimeout = 3 * time.Second
	return cfg
}

// eventLog collects a GET /events stream.
type eventLog struct {
	mu  sync.Mutex
	evs []sseEvent
}

func (l *eventLog) follow(ch <-chan sseEvent) {
	for ev := range ch {
		l.mu.Lock()
		l.evs = append(l.evs, ev)
		l.mu.Unlock()
	}
}

// of returns the events of type typ of sandbox id so far.
func (l *eventLog) of(id, typ string) []sseEvent {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []sseEvent
	for _, ev := range l.evs {
		if ev.data.SandboxID == id && ev.typ == typ {
			out = append(out, ev)
		}
	}
	return out
}

// ofType returns the events of type typ whose message has text.
func (l *eventLog) ofType(typ, text string) []sseEvent {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []sseEvent
	for _, ev := range l.evs {
		if ev.typ == typ && strings.Contains(ev.data.Message, text) {
			out = append(out, ev)
		}
	}
	return out
}

// waitEvent waits for an event typ of sandbox id on l.
func (l *eventLog) wait(t *testing.T, id, typ string, within time.Duration) sseEvent {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		if evs := l.of(id, typ); len(evs) > 0 {
			return evs[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s event of %s within %s", typ, id, within)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestControlPlaneReplicas runs two control planes without embedded
// nodes on one PostgreSQL and one `soulbox node` process: a sandbox
// created through A is read, listed, run in and killed through B; a
// timeout set through B ends its sandbox once, and B's event stream sees
// what A records; A, the leader, stopped, B takes the background work
// over and the remaining timeout fires once, and the node, given both
// replicas, heartbeats through B. A server with an embedded node on the
// same database is refused.
func TestControlPlaneReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("creates real sandboxes")
	}
	testutil.RequiresRoot(t)
	pg := pgtest.Start(t)
	url := pg.NewDatabase(t)
	keysDir := t.TempDir()
	adminKey, _, _ := auth.Generate()
	bin := buildServer(t, "")

	cfgA := replicaConfig(t, url, keysDir, adminKey)
	addrA, stopA := serveInProcess(t, cfgA)
	var stopAOnce sync.Once
	stopAErr := error(nil)
	stopReplicaA := func() { stopAOnce.Do(func() { stopAErr = stopA() }) }
	t.Cleanup(stopReplicaA)
	a := apiClient{t: t, base: "http://" + addrA, key: adminKey}

	// A started first and leads; B waits for the leadership.
	cfgB := replicaConfig(t, url, keysDir, adminKey)
	addrB, stopB := serveInProcess(t, cfgB)
	t.Cleanup(func() { _ = stopB() })
	b := apiClient{t: t, base: "http://" + addrB, key: adminKey}

	// A server with an embedded node is refused on the replicas'
	// database, saying why.
	embedded := testConfig(t)
	embedded.Store = url
	if s, err := server.New(context.Background(), embedded, discardLogger()); err == nil {
		serveHealth(t, s)
		t.Fatal("a server with an embedded node started beside control-plane replicas")
	} else if !errors.Is(err, errdefs.ErrFailedPrecondition) || !strings.Contains(err.Error(), "embedded node") {
		t.Fatalf("a server with an embedded node beside replicas: %v, want failed precondition saying why", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var events eventLog
	_, ch := openEvents(t, ctx, b.base, adminKey, "", "")
	go events.follow(ch)

	// No embedded node: before a node joins, a create has nowhere to go.
	if code, body, _ := a.do("POST", "/sandboxes", map[string]any{"templateID": "base", "timeout": 60}); code != 503 || !strings.Contains(string(body), `"message"`) {
		t.Fatalf("create with no node joined = %d %s, want 503 with a message", code, body)
	}
	var nodes []nodeJSON
	a.want(200, "GET", "/nodes", nil, &nodes)
	if len(nodes) != 0 {
		t.Fatalf("a control plane without an embedded node lists %+v", nodes)
	}
	// Template builds need a runtime this control plane does not have.
	if code, body, _ := b.do("POST", "/v3/templates", map[string]any{"name": "x", "cpuCount": 1, "memoryMB": 256}); code != 503 || !strings.Contains(string(body), "embedded-node=off") {
		t.Errorf("template build on a control plane only = %d %s, want 503 saying why", code, body)
	}

	// The node knows both replicas: it joins and heartbeats through A,
	// and through B once A is gone.
	n, _ := joinRunningNode(t, a, bin, "https://"+cfgA.NodeListen+",https://"+cfgB.NodeListen, "node-rep", freeAddr(t), "10.247.7.0/24")
	create := func(c apiClient, timeout int) sandboxJSON {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			code, body, _ := c.do("POST", "/sandboxes", map[string]any{"templateID": "base", "timeout": timeout})
			if code == 201 {
				var sb sandboxJSON
				if err := json.Unmarshal(body, &sb); err != nil {
					t.Fatal(err)
				}
				return sb
			}
			if code != 503 || time.Now().After(deadline) {
				t.Fatalf("create = %d %s\nnode:\n%s", code, body, n.stderr)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}

	// Created through A, used and killed through B.
	one := create(a, 300)
	b.want(200, "GET", "/sandboxes/"+one.SandboxID, nil, nil)
	var listed []listedJSON
	b.want(200, "GET", "/v2/sandboxes", nil, &listed)
	if len(listed) != 1 || listed[0].SandboxID != one.SandboxID {
		t.Errorf("B lists %+v, want %s", listed, one.SandboxID)
	}
	if code, out := runInSandbox(t, b, one, "echo via-b"); code != 200 || !strings.Contains(out, `"exited":true`) {
		t.Errorf("commands.run through B = %d %s", code, out)
	}
	events.wait(t, one.SandboxID, "created", 15*time.Second) // recorded through A, seen on B
	b.want(204, "DELETE", "/sandboxes/"+one.SandboxID, nil, nil)
	a.want(404, "GET", "/sandboxes/"+one.SandboxID, nil, nil)

	// A timeout set through B is fired by A, the leader, once.
	two := create(a, 300)
	b.want(204, "POST", "/sandboxes/"+two.SandboxID+"/timeout", map[string]any{"timeout": 2}, nil)
	ended := events.wait(t, two.SandboxID, "ended", 30*time.Second)
	if ended.data.Reason != "timeout" {
		t.Errorf("ended %+v, want reason timeout", ended.data)
	}

	// A stops mid-way: B takes the leadership over, and the timeout set
	// while A led fires once, through B.
	three := create(b, 300)
	b.want(204, "POST", "/sandboxes/"+three.SandboxID+"/timeout", map[string]any{"timeout": 6}, nil)
	stopReplicaA()
	if stopAErr != nil {
		t.Errorf("stop replica A: %v", stopAErr)
	}
	ended = events.wait(t, three.SandboxID, "ended", 40*time.Second)
	if ended.data.Reason != "timeout" {
		t.Errorf("ended %+v, want reason timeout", ended.data)
	}
	if code, out := runInSandbox(t, b, three, "true"); code != 502 {
		t.Errorf("a timed-out sandbox still answers: %d %s", code, out)
	}

	// The node heartbeats through B now: past the heartbeat timeout it
	// is ready, and B places a create on it. (A loaded host may delay one
	// heartbeat past the timeout: the node reads unhealthy until the
	// next, which only a heartbeat taken through B can end.)
	time.Sleep(cfgB.NodeHeartbeatTimeout + time.Second)
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		got := nodeStatus(b, "node-rep")
		if got == "ready" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("with replica A gone the node is %q, want ready\nnode:\n%s", got, n.stderr)
		}
	}
	four := create(b, 300)
	if code, out := runInSandbox(t, b, four, "true"); code != 200 || !strings.Contains(out, `"exited":true`) {
		t.Errorf("commands.run through B after A stopped = %d %s", code, out)
	}
	b.want(204, "DELETE", "/sandboxes/"+four.SandboxID, nil, nil)

	// Each end once, however many replicas ran.
	time.Sleep(3 * time.Second)
	for _, sb := range []sandboxJSON{one, two, three} {
		if evs := events.of(sb.SandboxID, "ended"); len(evs) != 1 {
			t.Errorf("sandbox %s ended %d times: %+v", sb.SandboxID, len(evs), evs)
		}
	}
}
