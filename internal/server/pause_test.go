package server_test

import (
	"bytes"
	"context"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	"github.com/soulbox/soulbox/internal/auth"
	"github.com/soulbox/soulbox/internal/client"
	"github.com/soulbox/soulbox/internal/network/fakenet"
)

// counterServer is a Python HTTP server on port 8000 that answers each
// GET with the next value of a counter it holds in memory.
const counterServer = `setsid python3 -c '
import http.server
n = 0
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        global n
        n += 1
        b = str(n).encode()
        self.send_response(200); self.send_header("Content-Length", str(len(b))); self.end_headers(); self.wfile.write(b)
    def log_message(self, *a): pass
http.server.HTTPServer(("0.0.0.0", 8000), H).serve_forever()
' >/dev/null 2>&1 < /dev/null &`

// sh runs a shell command in a sandbox; its output and exit code.
func sh(t *testing.T, c apiClient, sb sandboxJSON, script string) (string, int) {
	t.Helper()
	cl := &client.Client{BaseURL: c.base, APIKey: c.key}
	got, err := cl.Get(context.Background(), sb.SandboxID)
	if err != nil {
		t.Fatal(err)
	}
	got.EnvdAccessToken = *sb.EnvdAccessToken
	var out bytes.Buffer
	code, err := cl.Exec(context.Background(), got, []string{"bash", "-c", script}, client.ExecOptions{Stdout: &out, Stderr: &out})
	if err != nil {
		t.Fatal(err)
	}
	return out.String(), code
}

// cgroupsOf lists the host cgroup directories of sandbox id, in any
// hierarchy: none while it is paused to disk, its memory released.
func cgroupsOf(t *testing.T, id string) []string {
	t.Helper()
	dirs, err := filepath.Glob("/sys/fs/cgroup/*/soulbox-*/" + id)
	if err != nil {
		t.Fatal(err)
	}
	return dirs
}

// TestPauseToDiskAcrossRestart: a sandbox running a Python server that
// counts in memory is paused with its memory, the server restarts, the
// sandbox is listed paused and resumed: the counter goes on, the port
// answers through the proxy, files are kept and the network works.
// Then the pauses the driver cannot do, the filesystem-only pause, and
// the bad requests.
func TestPauseToDiskAcrossRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("creates real sandboxes")
	}
	w := fakenet.New(t, "fwps1", netip.MustParsePrefix("203.0.113.0/25"), []string{"outside.test"})
	cfg := testConfig(t)
	cfg.AdminKey, _, _ = auth.Generate()
	cfg.NetworkUplink, cfg.NetworkDNS, cfg.NetworkPool = w.Uplink, w.DNS, "10.252.2.0/24"
	addr, stop := serveInProcess(t, cfg)
	c := apiClient{t: t, base: "http://" + addr, key: cfg.AdminKey}
	sb := create(t, c, map[string]any{"timeout": 600})
	id := sb.SandboxID
	out := w.Servers[0]
	hello := fakenet.Hello(out)

	if o, code := sh(t, c, sb, counterServer+" echo kept > /home/user/kept.txt; for i in $(seq 50); do curl -s localhost:8000 >/dev/null && exit 0; sleep 0.1; done; exit 1"); code != 0 {
		t.Fatalf("counter server did not start: %s", o)
	}
	// curl above counted 1.
	if code, body := proxied(t, c, id, "8000"); code != 200 || body != "2" {
		t.Fatalf("counter through the proxy: %d %q, want 200 \"2\"", code, body)
	}

	c.want(204, "POST", "/sandboxes/"+id+"/pause", map[string]any{}, nil)
	var detail listedJSON
	c.want(200, "GET", "/sandboxes/"+id, nil, &detail)
	if detail.State != "paused" {
		t.Errorf("after pause: state %q, want paused", detail.State)
	}
	if dirs := cgroupsOf(t, id); len(dirs) > 0 {
		t.Errorf("paused to disk, the sandbox still has cgroups (memory held): %v", dirs)
	}
	if code, body := proxied(t, c, id, "8000"); code != 502 {
		t.Errorf("a paused sandbox's port through the proxy: %d %q, want 502", code, body)
	}
	// Bad requests change nothing.
	c.want(409, "POST", "/sandboxes/"+id+"/pause", nil, nil)
	c.want(400, "POST", "/sandboxes/"+id+"/pause", map[string]any{"memory": "yes"}, nil)

	// The server restarts; the paused sandbox is kept and listed paused.
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	addr, stop = serveInProcess(t, cfg)
	defer func() {
		if err := stop(); err != nil {
			t.Error(err)
		}
	}()
	c.base = "http://" + addr
	var list []listedJSON
	c.want(200, "GET", "/v2/sandboxes?state=paused", nil, &list)
	if len(list) != 1 || list[0].SandboxID != id || list[0].State != "paused" {
		t.Fatalf("paused sandboxes after a restart: %+v", list)
	}

	c.want(201, "POST", "/sandboxes/"+id+"/resume", map[string]any{"timeout": 600}, nil)
	if code, body := proxied(t, c, id, "8000"); code != 200 || body != "3" {
		t.Errorf("counter after resume: %d %q, want 200 \"3\" (its memory kept)", code, body)
	}
	if o, _ := sh(t, c, sb, "cat /home/user/kept.txt"); strings.TrimSpace(o) != "kept" {
		t.Errorf("file after resume: %q", o)
	}
	if got := fetch(t, c, sb, "http://"+out.String()+"/"); !strings.HasPrefix(got, hello) {
		t.Errorf("the restored sandbox's network: %q, want %q", got, hello)
	}
	c.want(409, "POST", "/sandboxes/"+id+"/resume", nil, nil)

	// A restored sandbox pauses with its memory again: the counter goes
	// on after the second resume.
	c.want(204, "POST", "/sandboxes/"+id+"/pause", map[string]any{"memory": true}, nil)
	c.want(201, "POST", "/sandboxes/"+id+"/resume", map[string]any{"timeout": 600}, nil)
	if code, body := proxied(t, c, id, "8000"); code != 200 || body != "4" {
		t.Errorf("counter after a second pause and resume: %d %q, want 200 \"4\"", code, body)
	}

	// Filesystem only: processes gone after the resume, files kept,
	// network back.
	c.want(204, "POST", "/sandboxes/"+id+"/pause", map[string]any{"memory": false}, nil)
	if dirs := cgroupsOf(t, id); len(dirs) > 0 {
		t.Errorf("paused with its filesystem, the sandbox still has cgroups: %v", dirs)
	}
	var conn sandboxJSON
	c.want(201, "POST", "/sandboxes/"+id+"/connect", map[string]any{"timeout": 600}, &conn)
	if code, _ := proxied(t, c, id, "8000"); code != 502 {
		t.Errorf("counter after a filesystem-only pause answers %d; its process should be gone", code)
	}
	if o, _ := sh(t, c, sb, "cat /home/user/kept.txt"); strings.TrimSpace(o) != "kept" {
		t.Errorf("file after a filesystem-only resume: %q", o)
	}
	if got := fetch(t, c, sb, "http://"+out.String()+"/"); !strings.HasPrefix(got, hello) {
		t.Errorf("network after a filesystem-only resume: %q, want %q", got, hello)
	}

	// Killed: not found.
	c.want(204, "DELETE", "/sandboxes/"+id, nil, nil)
	c.want(404, "POST", "/sandboxes/"+id+"/pause", nil, nil)
	c.want(404, "POST", "/sandboxes/"+id+"/resume", nil, nil)
}
