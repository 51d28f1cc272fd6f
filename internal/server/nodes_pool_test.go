package server_test

import (
	"context"
	"encoding/base64"
	"net"
	"net/netip"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/remotedriver"
	"github.com/soulbox/soulbox/internal/runtime"
	"github.com/soulbox/soulbox/internal/runtime/oci"
	"github.com/soulbox/soulbox/internal/runtime/oci/ocitest"
	"github.com/soulbox/soulbox/internal/server"
	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/sqlite"
)

// nodeRuntime is a driver on a joined node's runtime directory, to see
// what the node runs, its pool's sandboxes included, from the host.
func nodeRuntime(t testing.TB, dir string) *oci.Driver {
	t.Helper()
	d, err := oci.New(oci.Config{Root: filepath.Join(dir, "runtime"), AgentPath: ocitest.AgentBinary(t), Templates: ocitest.Templates(t)})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// nodePooled are the sandboxes the node runs that the control plane
// does not list: its warm pool's.
func nodePooled(t testing.TB, c apiClient, d *oci.Driver) []string {
	t.Helper()
	all, err := d.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var listed []listedJSON
	c.want(200, "GET", "/v2/sandboxes", nil, &listed)
	owned := map[string]bool{}
	for _, sb := range listed {
		owned[sb.SandboxID] = true
	}
	var out []string
	for _, i := range all {
		if !owned[i.ID] {
			out = append(out, i.ID)
		}
	}
	return out
}

// waitNodePooled waits until the node's pool holds n sandboxes.
func waitNodePooled(t *testing.T, c apiClient, d *oci.Driver, n *nodeProc, want int) []string {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		ids := nodePooled(t, c, d)
		if len(ids) == want {
			return ids
		}
		if time.Now().After(deadline) {
			t.Fatalf("the node's pool holds %d sandboxes, want %d\nnode:\n%s", len(ids), want, n.stderr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// pooledNode is a control plane and one `soulbox node` child joined to
// it with a warm pool (startPooledNode); the control plane's driver of
// the node, a driver of the node's runtime directory, and the binary
// the node runs.
type pooledNode struct {
	c      apiClient
	cfg    server.Config
	n      *nodeProc
	remote *remotedriver.Driver
	rt     *oci.Driver
	bin    string
}

// startPooledNode starts a control plane and a node named name on it
// whose pool keeps pool base sandboxes (no prewarm), its links in the
// range links, with extra flags, and waits until the control plane
// reaches the node.

func startPooledNode(t *testing.T, name, links string, pool int, extra ...string) pooledNode {
	t.Helper()
	bin := buildServer(t, "")
	nodeAddr := freeAddr(t)
	c, cfg := runServer(t, func(cfg *server.Config) {
		cfg.NodeListen = nodeAddr
		cfg.NodeHeartbeatTimeout = 3 * time.Second
	})
	listen := freeAddr(t)
	n, dir := joinRunningNode(t, c, bin, "https://"+nodeAddr, name, listen, links, append([]string{
		"--pool-min", strconv.Itoa(pool), "--pool-max", strconv.Itoa(pool), "--pool-prewarm", "none"}, extra...)...)
	p := pooledNode{c: c, cfg: cfg, n: n, remote: controlPlaneDriver(t, cfg, name, listen), rt: nodeRuntime(t, dir), bin: bin}
	waitDial(t, p.remote, n)
	return p
}

// claim claims from the node's pool until it hands out a sandbox, which
// the test destroys at its end.
func (p pooledNode) claim(t *testing.T, c runtime.Claim) string {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		id, err := p.remote.Claim(context.Background(), c)
		if err != nil {
			t.Fatalf("claim: %v", err)
		}
		if id != "" {
			t.Cleanup(func() { _ = p.remote.Destroy(context.Background(), id) })
			return id
		}
		if time.Now().After(deadline) {
			t.Fatalf("the node's pool never had a sandbox ready\nnode:\n%s", p.n.stderr)
		}
	}
}

// nodeReport is what the node's last heartbeat recorded.
func nodeReport(t testing.TB, cfg server.Config, node string) store.NodeReport {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(cfg.DataDir, "soulbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	n, err := db.GetNode(ctx, node)
	if err != nil {
		t.Fatal(err)
	}
	return n.Report
}

// TestJoinedNodeWarmPool: a `soulbox node` child keeps a warm pool of
// the base template. Its pooled sandboxes are no one's: the control
// plane lists none, the node's service lists none, its heartbeat names
// the template ready and counts none of them, and its --max-sandboxes
// counts only the creates' sandboxes. A create placed on the node is served from the
// pool (its sandbox is one the pool held, its agent back at normal
// priority and given the create's environment, limits and network), and
// the pool refills. Drained, the node empties its pool and fills it
// again once ready. A pooled sandbox whose agent died is discarded,
// never served. Stopped, the node leaves no pooled sandbox behind.
func TestJoinedNodeWarmPool(t *testing.T) {
	if testing.Short() {
		t.Skip("creates real sandboxes")
	}
	p := startPooledNode(t, "node-p1", "10.247.29.0/24", 2, "--max-sandboxes", "2")
	c, cfg, n, remote, rt, bin := p.c, p.cfg, p.n, p.remote, p.rt, p.bin
	var nodes []nodeJSON
	c.want(200, "GET", "/nodes", nil, &nodes)
	for _, nd := range nodes {
		if nd.ID != "node-p1" {
			c.want(204, "POST", "/nodes/"+nd.ID, map[string]any{"status": "draining"}, nil)
		}
	}

	pooled := waitNodePooled(t, c, rt, n, 2)
	if l, err := remote.List(context.Background()); err != nil || len(l) != 0 {
		t.Errorf("the node's service lists %+v, %v: pooled sandboxes are no one's", l, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !slices.Contains(nodeReport(t, cfg, "node-p1").Pooled, "base") {
		if time.Now().After(deadline) {
			t.Fatalf("the node's heartbeats never named base pooled: %+v", nodeReport(t, cfg, "node-p1"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	if r := nodeReport(t, cfg, "node-p1"); r.Sandboxes != 0 || r.AllocatedCPU != 0 || r.AllocatedMemory != 0 {
		t.Errorf("the node's heartbeat counts its pool: %d sandboxes, %d CPUs, %d bytes", r.Sandboxes, r.AllocatedCPU, r.AllocatedMemory)
	}

	// A claim the node cannot serve costs its pool nothing: a bad
	// network policy is refused, a template it does not pool or other
	// disk limits get no sandbox.
	ctx := context.Background()
	if id, err := remote.Claim(ctx, runtime.Claim{Template: "base", Network: runtime.NetworkPolicy{Limits: runtime.NetworkLimits{EgressMbps: -1}}}); !errdefs.IsInvalidArgument(err) {
		t.Errorf("a claim with a bad network policy = %q, %v; want invalid argument", id, err)
	}
	if id, err := remote.Claim(ctx, runtime.Claim{Template: "other"}); id != "" || err != nil {
		t.Errorf("a claim of a template the node does not pool = %q, %v; want none", id, err)
	}
	if id, err := remote.Claim(ctx, runtime.Claim{Template: "base", Limits: runtime.Limits{DiskMB: 2048}}); id != "" || err != nil {
		t.Errorf("a claim with other disk limits = %q, %v; want none", id, err)
	}
	if now := nodePooled(t, c, rt); !slices.Equal(now, pooled) {
		t.Errorf("claims the node could not serve changed its pool from %v to %v", pooled, now)
	}

	var made []string
	sb := createOnNode(t, c, n, map[string]any{"timeout": 300, "secure": true, "envVars": map[string]string{"POOL_CHECK": "fitted"}}, &made)
	if !slices.Contains(pooled, sb.SandboxID) {
		t.Fatalf("the create made %s, not one of the pool's %v", sb.SandboxID, pooled)
	}
	if got := storedSandbox(t, cfg, sb.SandboxID); got.Node != "node-p1" {
		t.Errorf("the claimed sandbox is recorded on node %q, want node-p1", got.Node)
	}
	if code, out := runInSandbox(t, c, sb, "echo env-$POOL_CHECK"); code != 200 ||
		!strings.Contains(out, base64.StdEncoding.EncodeToString([]byte("env-fitted\n"))) {
		t.Errorf("the claimed sandbox lacks the create's environment: %d %s", code, out)
	}
	if nice := niceness(t, rt, sb.SandboxID); nice != 0 {
		t.Errorf("the claimed sandbox's agent runs at niceness %d, want 0", nice)
	}
	if l, err := remote.List(context.Background()); err != nil || len(l) != 1 || l[0].ID != sb.SandboxID {
		t.Errorf("the node's service lists %+v, %v; want only %s", l, err, sb.SandboxID)
	}

	// The pool refills; the next create, with other limits and no
	// internet, is served from it too and fitted to them.
	refilled := waitNodePooled(t, c, rt, n, 2)
	if slices.Contains(refilled, sb.SandboxID) {
		t.Fatalf("the claimed sandbox is still the pool's: %v", refilled)
	}
	sb2 := createOnNode(t, c, n, map[string]any{"timeout": 300, "cpuCount": 2, "memoryMB": 768, "allow_internet_access": false}, &made)
	if !slices.Contains(refilled, sb2.SandboxID) {
		t.Fatalf("the second create made %s, not one of the pool's %v", sb2.SandboxID, refilled)
	}
	if info, err := rt.Info(context.Background(), sb2.SandboxID); err != nil || info.Limits.CPUCount != 2 || info.Limits.MemoryMB != 768 {
		t.Errorf("the claimed sandbox has limits %+v, %v; want 2 CPUs and 768 MiB", info.Limits, err)
	}

	// Two creates fill the node's bound; a third is refused, and costs
	// the pool nothing.
	full := waitNodePooled(t, c, rt, n, 2)
	if code, b, _ := c.do("POST", "/sandboxes", map[string]any{"templateID": "base", "timeout": 300}); code != 429 && code != 503 {
		t.Errorf("a create past the node's --max-sandboxes 2 = %d %s", code, b)
	}
	if now := nodePooled(t, c, rt); !slices.Equal(now, full) {
		t.Errorf("a refused create changed the pool from %v to %v", full, now)
	}

	// Drained, the node empties its pool; ready again, it fills it.
	c.want(204, "POST", "/nodes/node-p1", map[string]any{"status": "draining"}, nil)
	waitNodePooled(t, c, rt, n, 0)
	c.want(204, "POST", "/nodes/node-p1", map[string]any{"status": "ready"}, nil)
	refilled = waitNodePooled(t, c, rt, n, 2)

	// Pooled sandboxes whose agents died are discarded, never served:
	// the create gets a working sandbox, and the dead ones are gone.
	c.want(204, "DELETE", "/sandboxes/"+sb2.SandboxID, nil, nil)
	made = slices.DeleteFunc(made, func(id string) bool { return id == sb2.SandboxID })
	for _, id := range refilled {
		info, err := rt.Info(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if err := syscall.Kill(info.Pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
	}
	sb3 := createOnNode(t, c, n, map[string]any{"timeout": 300}, &made)
	if slices.Contains(refilled, sb3.SandboxID) {
		t.Fatalf("served %s, whose agent was killed", sb3.SandboxID)
	}
	if code, out := runInSandbox(t, c, sb3, "true"); code != 200 || !strings.Contains(out, `"exited":true`) {
		t.Errorf("the sandbox served instead does not work: %d %s", code, out)
	}
	for _, id := range refilled {
		if _, err := rt.Info(context.Background(), id); err == nil {
			t.Errorf("pooled sandbox %s, its agent dead, was not destroyed", id)
		}
	}

	// Killed with its pool full, the node destroys what that pool held
	// when it starts again (here with no pool of its own), and keeps the
	// sandboxes creates were given.
	held := waitNodePooled(t, c, rt, n, 2)
	_ = n.cmd.Process.Kill()
	killed := <-n.done
	n.done <- killed // for the cleanups' waits
	if killed == nil {
		t.Fatal("the node killed with SIGKILL exited cleanly")
	}
	var again []string
	for i := 2; i < len(n.cmd.Args); i++ {
		if n.cmd.Args[i] == "--join-token" {
			i++ // spent; the node has joined
			continue
		}
		again = append(again, n.cmd.Args[i])
	}
	n = startNode(t, bin, append(again, "--pool-max", "0")...)
	t.Cleanup(func() {
		_ = n.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-n.done:
			n.done <- err
		case <-time.After(15 * time.Second):
		}
	})
	waitNodeStatus(t, c, "node-p1", "ready", 60*time.Second)
	waitDial(t, remote, n)
	for _, id := range held {
		if _, err := rt.Info(context.Background(), id); err == nil {
			t.Errorf("sandbox %s, pooled when the node was killed, outlived its restart", id)
		}
	}
	if _, err := rt.Info(context.Background(), sb3.SandboxID); err != nil {
		t.Errorf("the claimed sandbox %s did not outlive the node's restart: %v", sb3.SandboxID, err)
	}
	if code, out := runInSandbox(t, c, sb3, "true"); code != 200 || !strings.Contains(out, `"exited":true`) {
		t.Errorf("the claimed sandbox after the node's restart: %d %s", code, out)
	}

	// Stopped, the node destroys its pool and leaves nothing behind.
	for _, id := range made {
		c.want(204, "DELETE", "/sandboxes/"+id, nil, nil)
	}
	if err := n.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := n.wait(t); err != nil {
		t.Fatalf("the node exited with %v\n%s", err, n.stderr)
	}
	left, err := rt.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range left {
		t.Errorf("sandbox %s left behind by the stopped node", i.ID)
		if err := rt.Destroy(context.Background(), i.ID); err != nil {
			t.Errorf("destroy %s: %v", i.ID, err)
		}
	}
	// Nor a link of its range on the host, once the kernel has freed the
	// sandboxes' network namespaces (it does so in the background).
	links := netip.MustParsePrefix("10.247.29.0/24")
	deadline = time.Now().Add(10 * time.Second)
	for {
		held := hostAddrsIn(t, links)
		if len(held) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("host addresses in the node's range left after it stopped: %v", held)
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// hostAddrsIn lists the host's interface addresses within p.
func hostAddrsIn(t *testing.T, p netip.Prefix) []string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(n.IP); ok && p.Contains(ip.Unmap()) {
				out = append(out, n.String())
			}
		}
	}
	return out
}
