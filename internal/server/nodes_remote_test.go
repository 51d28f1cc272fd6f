package server_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/auth"
	"github.com/soulbox/soulbox/internal/envd"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/nodeca"
	"github.com/soulbox/soulbox/internal/remotedriver"
	"github.com/soulbox/soulbox/internal/runtime"
	"github.com/soulbox/soulbox/internal/runtime/oci/ocitest"
	"github.com/soulbox/soulbox/internal/runtime/runtimetest"
	"github.com/soulbox/soulbox/internal/server"
)

// joinRunningNode starts a `soulbox node` that joins the server c and
// serves sandboxes on listen, with its own data dir, cgroup parent and
// sandbox address range, and the flags extra; it returns once the node
// is ready. As the servers of tests, it pools nothing unless extra says
// so (--pool-max).
func joinRunningNode(t testing.TB, c apiClient, bin, cp, name, listen, pool string, extra ...string) (*nodeProc, string) {
	t.Helper()
	var tok nodeTokenJSON
	c.want(201, "POST", "/admin/node-tokens", map[string]any{"ttl": 600}, &tok)
	dir := ocitest.Root(t)
	args := append([]string{"--control-plane", cp, "--join-token", tok.Token, "--data-dir", dir, "--name", name,
		"--listen", listen, "--templates-dir", ocitest.TemplateCache(), "--agent", ocitest.AgentBinary(t),
		"--cgroup-parent", "soulbox-test-" + name, "--network-pool", pool, "--network-uplink", "lo", "--network-dns", "127.0.0.1", "--pool-max", "0"}, extra...)
	p := startNode(t, bin, args...)
	// Stopped with SIGTERM, a node closes its network manager, which
	// removes what it put on the host once its sandboxes are gone.
	t.Cleanup(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-p.done:
			p.done <- err
		case <-time.After(15 * time.Second):
		}
	})
	waitNodeStatus(t, c, name, "ready", 60*time.Second)
	return p, dir
}

// nodeServiceControlPlane starts a control plane for tests that drive a
// joined node's sandbox service directly (its remote driver) rather than
// through the API. Such sandboxes are in no store, and a control plane
// destroys what a node runs that its store does not record (a returning
// node's leftovers, see internal/nodelease): call stop once the node has
// joined and answers, and its service runs on alone.
func nodeServiceControlPlane(t *testing.T, nodeAddr string) (c apiClient, cfg server.Config, stop func()) {
	t.Helper()
	cfg = testConfig(t)
	cfg.AdminKey, _, _ = auth.Generate()
	cfg.NodeListen = nodeAddr
	cfg.NodeHeartbeatTimeout = 3 * time.Second
	addr, stopServer := serveInProcess(t, cfg)
	var once sync.Once
	stop = func() {
		once.Do(func() {
			if err := stopServer(); err != nil {
				t.Errorf("stop the control plane: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return apiClient{t: t, base: "http://" + addr, key: cfg.AdminKey}, cfg, stop
}

// controlPlaneDriver is the remote driver of a joined node, with the
// client certificate the server's node CA signs for the control plane.
func controlPlaneDriver(t testing.TB, cfg server.Config, name, addr string) *remotedriver.Driver {
	t.Helper()
	ca, err := nodeca.Open(filepath.Join(cfg.DataDir, "node-ca"))
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.ControlPlaneClient()
	if err != nil {
		t.Fatal(err)
	}
	d, err := remotedriver.New(remotedriver.Config{Node: name, Addr: addr, ClientCert: cert, CA: ca.Pool()})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// waitDial waits for the node's sandbox service to answer.
func waitDial(t testing.TB, d *remotedriver.Driver, n *nodeProc) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err := d.List(ctx)
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the node's sandbox service does not answer: %v\nnode:\n%s", err, n.stderr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestRemoteDriver drives a real sandbox on a `soulbox node` child
// process through the remote driver, over mutual TLS: create, start,
// exec with input and output, stats, info, list, a connection to the
// agent's port, destroy. Errors keep their category across the wire,
// and only the control plane's certificate may call the node.
func TestRemoteDriver(t *testing.T) {
	if testing.Short() {
		t.Skip("creates real sandboxes")
	}
	bin := buildServer(t, "")
	nodeAddr := freeAddr(t)
	c, cfg, stopControlPlane := nodeServiceControlPlane(t, nodeAddr)
	// Bad runtime flags are refused before the token is spent.
	var tok nodeTokenJSON
	c.want(201, "POST", "/admin/node-tokens", map[string]any{"ttl": 600}, &tok)
	for _, tc := range []struct{ flags []string }{
		{[]string{"--listen", "no-port"}},
		{[]string{"--listen", "127.0.0.1:0", "--network", "maybe"}},
		{[]string{"--listen", "127.0.0.1:0", "--network-pool", "10.247.0.0"}},
		{[]string{"--listen", "127.0.0.1:0", "--network-pool", "10.247.0.1/24"}},
		{[]string{"--listen", "127.0.0.1:0", "--cgroup-parent", "../escape"}},
	} {
		args := append([]string{"--control-plane", "https://" + nodeAddr, "--join-token", tok.Token, "--data-dir", t.TempDir(), "--name", "node-bad"}, tc.flags...)
		p := startNode(t, bin, args...)
		if err := p.wait(t); err == nil || !strings.Contains(p.stderr.String(), "--") {
			t.Errorf("node %v: %v\n%s", tc.flags, err, p.stderr)
		}
	}
	var tokens []nodeTokenJSON
	if c.want(200, "GET", "/admin/node-tokens", nil, &tokens); len(tokens) != 1 || tokens[0].UsedBy != "" {
		t.Errorf("refused nodes spent the token: %+v", tokens)
	}

	listen := freeAddr(t)
	n, dir := joinRunningNode(t, c, bin, "https://"+nodeAddr, "node-r1", listen, "10.247.0.0/24")
	d := controlPlaneDriver(t, cfg, "node-r1", listen)
	waitDial(t, d, n)
	stopControlPlane()
	if !strings.HasPrefix(d.Name(), "oci/") {
		t.Errorf("remote driver name %q", d.Name())
	}

	ctx := context.Background()
	const id = "remote-one"
	t.Cleanup(func() { _ = d.Destroy(context.Background(), id) })
	info, err := d.Create(ctx, runtime.Spec{ID: id, Template: "base", Limits: runtime.Limits{CPUCount: 1, MemoryMB: 256}})
	if err != nil {
		t.Fatalf("create: %v\nnode:\n%s", err, n.stderr)
	}
	if info.ID != id || info.Status != runtime.StatusCreated || info.Limits.MemoryMB != 256 || info.HostUID == 0 {
		t.Errorf("created %+v", info)
	}
	if err := d.Start(ctx, id); err != nil {
		t.Fatalf("start: %v", err)
	}

	// Errors keep their category.
	if _, err := d.Create(ctx, runtime.Spec{ID: id, Template: "base"}); !errdefs.IsAlreadyExists(err) {
		t.Errorf("a duplicate create: %v, want already exists", err)
	}
	if _, err := d.Create(ctx, runtime.Spec{ID: "remote-two", Template: "no-such-template"}); !errdefs.IsNotFound(err) {
		t.Errorf("an unknown template: %v, want not found", err)
	}
	if _, err := d.Create(ctx, runtime.Spec{ID: "Bad ID", Template: "base"}); !errdefs.IsInvalidArgument(err) {
		t.Errorf("a bad id: %v, want invalid argument", err)
	}
	if _, err := d.Info(ctx, "no-such-sandbox"); !errdefs.IsNotFound(err) || !strings.Contains(err.Error(), "node-r1") {
		t.Errorf("info of no sandbox: %v, want not found naming the node", err)
	}

	var out, errOut strings.Builder
	res, err := d.Exec(ctx, id, runtime.ExecRequest{Args: []string{"sh", "-c", "tr a-z A-Z; echo oops >&2; exit 3"},
		Stdin: strings.NewReader("hello node\n"), Stdout: &out, Stderr: &errOut})
	if err != nil || res.ExitCode != 3 || out.String() != "HELLO NODE\n" || errOut.String() != "oops\n" {
		t.Errorf("exec = %+v, %v; stdout %q stderr %q", res, err, out.String(), errOut.String())
	}
	if info, err = d.Info(ctx, id); err != nil || info.Status != runtime.StatusRunning || info.Pid == 0 {
		t.Errorf("info %+v, %v", info, err)
	}
	st, err := d.Stats(ctx, id)
	if err != nil || st.MemoryUsage == 0 || st.MemoryLimit != 256<<20 || st.Pids == 0 || st.Timestamp.IsZero() {
		t.Errorf("stats %+v, %v", st, err)
	}
	list, err := d.List(ctx)
	if err != nil || len(list) != 1 || list[0].ID != id {
		t.Errorf("list %+v, %v", list, err)
	}

	// A connection to the agent through the node: its health answer.
	conn, err := d.DialContext(ctx, id, envd.Port)
	if err != nil {
		t.Fatalf("dial the agent: %v", err)
	}
	fmt.Fprintf(conn, "GET /health HTTP/1.1\r\nHost: sandbox\r\nConnection: close\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("agent health through the node: %v", err)
	}
	resp.Body.Close()
	conn.Close()
	if resp.StatusCode/100 != 2 {
		t.Errorf("agent health through the node: %s", resp.Status)
	}
	if _, err := d.DialContext(ctx, id, 1); err == nil {
		t.Errorf("dialing a closed port succeeded")
	}
	if _, err := d.DialContext(ctx, "no-such-sandbox", envd.Port); !errdefs.IsNotFound(err) {
		t.Errorf("dialing no sandbox: %v, want not found", err)
	}
	for _, port := range []int{0, -1, 70000} {
		if _, err := d.DialContext(ctx, id, port); !errdefs.IsInvalidArgument(err) {
			t.Errorf("dialing port %d: %v, want invalid argument", port, err)
		}
	}
	if _, err := d.Exec(ctx, id, runtime.ExecRequest{Args: []string{"cat"}, Stdin: io.LimitReader(zeros{}, 17<<20)}); !errdefs.IsInvalidArgument(err) {
		t.Errorf("an exec with 17 MiB of input: %v, want invalid argument", err)
	}
	if _, err := d.Exec(ctx, id, runtime.ExecRequest{Args: []string{"head", "-c", "17M", "/dev/zero"}, Stdout: io.Discard}); !errors.Is(err, errdefs.ErrFailedPrecondition) {
		t.Errorf("an exec with 17 MiB of output: %v, want failed precondition (not a 429 that reads as retry)", err)
	}

	// A node's own certificate (same CA) cannot drive a node.
	pair, err := tls.LoadX509KeyPair(filepath.Join(dir, "node", "node.pem"), filepath.Join(dir, "node", "node-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	caPEM, _ := os.ReadFile(filepath.Join(dir, "node", "ca.pem"))
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	impostor, err := remotedriver.New(remotedriver.Config{Node: "node-r1", Addr: listen, ClientCert: pair, CA: pool})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := impostor.List(ctx); err == nil {
		t.Errorf("a node's certificate listed another node's sandboxes")
	}
	if err := impostor.Destroy(ctx, id); err == nil {
		t.Errorf("a node's certificate destroyed a sandbox")
	}

	if err := d.Destroy(ctx, id); err != nil {
		t.Fatalf("destroy: %v", err)
	}
	if _, err := d.Info(ctx, id); !errdefs.IsNotFound(err) {
		t.Errorf("info after destroy: %v, want not found", err)
	}
	if list, err := d.List(ctx); err != nil || len(list) != 0 {
		t.Errorf("after destroy the node lists %+v, %v", list, err)
	}

	_ = n.cmd.Process.Signal(syscall.SIGTERM)
	if err := n.wait(t); err != nil {
		t.Errorf("soulbox node after SIGTERM: %v\n%s", err, n.stderr)
	}
}

// sandboxCall sends one request to the agent of sandbox sb through the
// server's proxy (the one API URL), as the SDKs do.
func sandboxCall(t testing.TB, c apiClient, sb sandboxJSON, method, path, contentType string, body []byte) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, c.base+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("E2b-Sandbox-Id", sb.SandboxID)
	req.Header.Set("E2b-Sandbox-Port", strconv.Itoa(envd.Port))
	if sb.EnvdAccessToken != nil {
		req.Header.Set("X-Access-Token", *sb.EnvdAccessToken)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// runInSandbox runs a command as commands.run does (a Connect server
// stream of process.Process/Start, JSON codec) and returns the stream.
func runInSandbox(t testing.TB, c apiClient, sb sandboxJSON, script string) (int, string) {
	t.Helper()
	msg, _ := json.Marshal(map[string]any{"process": map[string]any{"cmd": "/bin/bash", "args": []string{"-l", "-c", script}}, "stdin": false})
	frame := make([]byte, 5, 5+len(msg))
	binary.BigEndian.PutUint32(frame[1:], uint32(len(msg)))
	code, b := sandboxCall(t, c, sb, "POST", "/process.Process/Start", "application/connect+json", append(frame, msg...))
	return code, string(b)
}

// TestJoinedNodeRunsSandboxes: with the embedded node drained, a create
// through the API is placed on the joined node and recorded there;
// commands and files reach it through the server's proxy (the node's
// Dial); kill ends it on the node. Drained in turn, the joined node gets
// no new placement: creates go to the embedded node, readied again.
func TestJoinedNodeRunsSandboxes(t *testing.T) {
	if testing.Short() {
		t.Skip("creates real sandboxes")
	}
	bin := buildServer(t, "")
	nodeAddr := freeAddr(t)
	c, cfg := runServer(t, func(cfg *server.Config) {
		cfg.NodeListen = nodeAddr
		cfg.NodeHeartbeatTimeout = 3 * time.Second
	})
	listen := freeAddr(t)
	n, _ := joinRunningNode(t, c, bin, "https://"+nodeAddr, "node-r2", listen, "10.247.1.0/24")
	d := controlPlaneDriver(t, cfg, "node-r2", listen)
	waitDial(t, d, n)
	var nodes []nodeJSON
	c.want(200, "GET", "/nodes", nil, &nodes)
	embedded := ""
	for _, nd := range nodes {
		if nd.ID != "node-r2" {
			embedded = nd.ID
		}
	}
	c.want(204, "POST", "/nodes/"+embedded, map[string]any{"status": "draining"}, nil)

	// The node's first heartbeat with its service address makes it a
	// place for sandboxes.
	var sb sandboxJSON
	deadline := time.Now().Add(15 * time.Second)
	for {
		code, b, _ := c.do("POST", "/sandboxes", map[string]any{"templateID": "base", "timeout": 300, "secure": true})
		if code == 201 {
			if err := json.Unmarshal(b, &sb); err != nil {
				t.Fatal(err)
			}
			break
		}
		if code != 503 || time.Now().After(deadline) {
			t.Fatalf("create with only the joined node ready = %d %s\nnode:\n%s", code, b, n.stderr)
		}
		time.Sleep(200 * time.Millisecond)
	}
	list, err := d.List(context.Background())
	if err != nil || len(list) != 1 || list[0].ID != sb.SandboxID || list[0].Status != runtime.StatusRunning {
		t.Fatalf("the node runs %+v, %v; want %s running", list, err, sb.SandboxID)
	}
	var listed []listedJSON
	c.want(200, "GET", "/v2/sandboxes", nil, &listed)
	if len(listed) != 1 || listed[0].SandboxID != sb.SandboxID || listed[0].State != "running" {
		t.Errorf("listed %+v", listed)
	}

	// Commands and files through the one API URL.
	if code, out := runInSandbox(t, c, sb, "echo from-$(hostname)"); code != 200 || !strings.Contains(out, `"exited":true`) ||
		!strings.Contains(out, base64.StdEncoding.EncodeToString([]byte("from-"+sb.SandboxID+"\n"))) {
		t.Errorf("commands.run on the joined node = %d %s", code, out)
	}
	if code, b := sandboxCall(t, c, sb, "POST", "/files?path=/home/user/hello.txt&username=user", "application/octet-stream", []byte("hello node")); code != 200 {
		t.Fatalf("files.write = %d %s", code, b)
	}
	if code, b := sandboxCall(t, c, sb, "GET", "/files?path=/home/user/hello.txt&username=user", "", nil); code != 200 || string(b) != "hello node" {
		t.Errorf("files.read = %d %q", code, b)
	}
	if code, out := runInSandbox(t, c, sb, "cat /home/user/hello.txt"); code != 200 ||
		!strings.Contains(out, base64.StdEncoding.EncodeToString([]byte("hello node"))) {
		t.Errorf("the file written is not in the sandbox: %d %s", code, out)
	}
	c.want(200, "GET", "/sandboxes/"+sb.SandboxID, nil, nil)

	// A snapshot, which a joined node makes into object storage only
	// (this server has none), is refused, saying so, and the sandbox
	// runs on.
	for _, path := range []string{"/snapshots"} {
		code, b, _ := c.do("POST", "/sandboxes/"+sb.SandboxID+path, map[string]any{})
		if code != 409 || !strings.Contains(string(b), "node-r2") {
			t.Errorf("POST %s of a sandbox on a joined node = %d %s, want 409 naming the node", path, code, b)
		}
	}
	if code, out := runInSandbox(t, c, sb, "true"); code != 200 || !strings.Contains(out, `"exited":true`) {
		t.Errorf("after the refusals the sandbox does not run commands: %d %s", code, out)
	}

	// Drain the joined node, ready the embedded one: the next create
	// runs here, the node keeps only its sandbox.
	c.want(204, "POST", "/nodes/node-r2", map[string]any{"status": "draining"}, nil)
	c.want(204, "POST", "/nodes/"+embedded, map[string]any{"status": "ready"}, nil)
	var local sandboxJSON
	c.want(201, "POST", "/sandboxes", map[string]any{"templateID": "base", "timeout": 300}, &local)
	if list, err := d.List(context.Background()); err != nil || len(list) != 1 {
		t.Errorf("a drained node got a placement: %+v, %v", list, err)
	}
	c.want(204, "DELETE", "/sandboxes/"+local.SandboxID, nil, nil)

	// Kill ends it on the node.
	c.want(204, "DELETE", "/sandboxes/"+sb.SandboxID, nil, nil)
	if list, err := d.List(context.Background()); err != nil || len(list) != 0 {
		t.Errorf("after kill the node runs %+v, %v", list, err)
	}
	if code, _ := sandboxCall(t, c, sb, "GET", "/health", "", nil); code != 502 {
		t.Errorf("a killed sandbox's agent answers %d, want 502", code)
	}
}

// zeros reads as endless zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// TestRemoteDriverConformance runs the drivers' conformance suite
// against a `soulbox node` child process through the remote driver: the
// node on this host, the suite's checks that nothing is left behind see
// its sandboxes' processes, mounts and cgroups.
func TestRemoteDriverConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("creates real sandboxes")
	}
	bin := buildServer(t, "")
	nodeAddr := freeAddr(t)
	c, cfg, stopControlPlane := nodeServiceControlPlane(t, nodeAddr)
	listen := freeAddr(t)
	n, _ := joinRunningNode(t, c, bin, "https://"+nodeAddr, "node-conf", listen, "10.247.4.0/24")
	d := controlPlaneDriver(t, cfg, "node-conf", listen)
	waitDial(t, d, n)
	stopControlPlane()
	runtimetest.Run(t, func(*testing.T) runtime.Driver { return d }, runtimetest.Options{Template: "base", Network: true})
}
