package compat

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/auth"
	"github.com/soulbox/soulbox/internal/nodeca"
	"github.com/soulbox/soulbox/internal/remotedriver"
	"github.com/soulbox/soulbox/internal/runtime/oci/ocitest"
	"github.com/soulbox/soulbox/internal/store/postgres/pgtest"
	"github.com/soulbox/soulbox/internal/testutil"
)

// proc is a child process with its output kept for a failure's log.
type proc struct {
	name   string
	cmd    *exec.Cmd
	out    *testutil.Buffer
	exited chan struct{}
}

func startProc(t *testing.T, name, bin string, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, cmd: exec.Command(bin, args...), out: &testutil.Buffer{}, exited: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		// SIGTERM first: a node closes its network manager, which
		// removes what it put on the host once its sandboxes are gone.
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(15 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("%s:\n%s", p.name, p.out)
		}
	})
	return p
}

// TestE2BSDKReplicas drives the official SDK against two control-plane
// replicas (`soulbox server --embedded-node=off`, separate processes)
// on one PostgreSQL, with three `soulbox node` processes that know both:
// creates spread over the nodes; commands and files work on every
// sandbox through either replica's URL; replica A, which leads, is
// killed (SIGKILL) while commands run through B, and B serves on; the
// timeouts set before fire once, through B.
func TestE2BSDKReplicas(t *testing.T) {
	requireNode(t)
	bin := filepath.Join(t.TempDir(), "soulbox")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/soulbox/soulbox/cmd/soulbox").CombinedOutput(); err != nil {
		t.Fatalf("build soulbox: %v\n%s", err, out)
	}
	pg := pgtest.Start(t)
	store := pg.NewDatabase(t)
	keys := t.TempDir()
	admin, _, _ := auth.Generate()

	type replica struct {
		p          *proc
		url, nodes string
	}
	startReplica := func(name string) replica {
		r := replica{url: "http://" + freeLocalAddr(t), nodes: freeLocalAddr(t)}
		r.p = startProc(t, name, bin, []string{"SOULBOX_STORE=" + store, "SOULBOX_ADMIN_KEY=" + admin}, "server",
			"--embedded-node=off", "--keys-dir", keys, "--data-dir", ocitest.Root(t), "--listen", strings.TrimPrefix(r.url, "http://"),
			"--node-listen", r.nodes, "--node-heartbeat-timeout", "3s", "--pool-max", "0", "--pool-min", "0",
			"--templates-dir", ocitest.TemplateCache(), "--agent", ocitest.AgentBinary(t))
		deadline := time.Now().Add(60 * time.Second)
		for {
			resp, err := http.Get(r.url + "/health")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					return r
				}
			}
			select {
			case <-r.p.exited:
				t.Fatalf("%s exited:\n%s", name, r.p.out)
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s does not answer: %v\n%s", name, err, r.p.out)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	a := startReplica("replica-a")
	b := startReplica("replica-b")
	api := func(base, method, path string, body, out any) int {
		t.Helper()
		bs, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, base+path, bytes.NewReader(bs))
		req.Header.Set("X-API-Key", admin)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if out != nil {
			_ = json.NewDecoder(resp.Body).Decode(out)
		}
		return resp.StatusCode
	}

	ca, err := nodeca.Open(filepath.Join(keys, "node-ca"))
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.ControlPlaneClient()
	if err != nil {
		t.Fatal(err)
	}
	drivers := map[string]*remotedriver.Driver{}
	for i, name := range []string{"node-r1", "node-r2", "node-r3"} {
		var tok struct{ Token string }
		// Tokens made through either replica are the same store's.
		via := []string{a.url, b.url}[i%2]
		if code := api(via, "POST", "/admin/node-tokens", map[string]any{"ttl": 600}, &tok); code != 201 {
			t.Fatalf("node token: %d", code)
		}
		listen := freeLocalAddr(t)
		startProc(t, name, bin, nil, "node", "--control-plane", "https://"+a.nodes, "--control-plane", "https://"+b.nodes,
			"--join-token", tok.Token, "--data-dir", ocitest.Root(t), "--name", name, "--listen", listen,
			"--templates-dir", ocitest.TemplateCache(), "--agent", ocitest.AgentBinary(t), "--cgroup-parent", "soulbox-compat-"+name,
			"--network-pool", fmt.Sprintf("10.246.%d.0/24", 20+i), "--network-uplink", "lo", "--network-dns", "127.0.0.1")
		if drivers[name], err = remotedriver.New(remotedriver.Config{Node: name, Addr: listen, ClientCert: cert, CA: ca.Pool()}); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	for name, d := range drivers {
		waitNodeJoined(t, store, "", false, name, d)
	}
	on := func() map[string][]string {
		t.Helper()
		out := map[string][]string{}
		for name, d := range drivers {
			list, err := d.List(ctx)
			if err != nil {
				t.Fatalf("list %s: %v", name, err)
			}
			for _, i := range list {
				out[name] = append(out[name], i.ID)
			}
		}
		return out
	}
	sdk := func(base string) []string {
		return []string{"E2B_API_URL=" + base, "E2B_SANDBOX_URL=" + base, "E2B_API_KEY=" + admin, "E2B_DOMAIN=localhost"}
	}

	// Creates through A spread over the three nodes.
	ids := replicasRun(t, sdk(a.url), "create", "6")
	placed := on()
	t.Logf("placed: %v", placed)
	for name := range drivers {
		if len(placed[name]) == 0 {
			t.Errorf("six creates placed nothing on %s: %v", name, placed)
		}
	}
	// Every sandbox answers through B, and through A.
	all := strings.Join(ids, ",")
	replicasRun(t, sdk(b.url), "exec", all)
	replicasRun(t, sdk(a.url), "exec", all)

	// Three sandboxes get a short timeout through B while A leads; A is
	// killed while commands run through B, which serves on and fires the
	// timeouts once.
	timed, rest := ids[:3], ids[3:]
	replicasRun(t, sdk(b.url), "timeout", strings.Join(timed, ","), "8")
	load := exec.Command("node", "replicas.mjs", "load", strings.Join(rest, ","), "6")
	load.Env = append(os.Environ(), sdk(b.url)...)
	var loadOut bytes.Buffer
	load.Stdout, load.Stderr = &loadOut, &loadOut
	if err := load.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	_ = a.p.cmd.Process.Kill()
	<-a.p.exited
	if err := load.Wait(); err != nil {
		t.Errorf("commands through B while A was killed failed: %v\n%s", err, loadOut.String())
	} else {
		t.Logf("%s commands through B while A was killed", strings.TrimSpace(loadOut.String()))
	}

	deadline := time.Now().Add(40 * time.Second)
	for {
		var listed []struct {
			SandboxID string `json:"sandboxID"`
		}
		api(b.url, "GET", "/v2/sandboxes", nil, &listed)
		left := 0
		for _, l := range listed {
			for _, id := range timed {
				if l.SandboxID == id {
					left++
				}
			}
		}
		if left == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d timed sandboxes still run 40 s after A was killed", left)
		}
		time.Sleep(500 * time.Millisecond)
	}
	time.Sleep(2 * time.Second)
	ends := endedEvents(t, b.url, admin)
	for _, id := range timed {
		if got := ends[id]; len(got) != 1 || got[0] != "timeout" {
			t.Errorf("sandbox %s ended %v, want once with reason timeout", id, got)
		}
	}
	replicasRun(t, sdk(b.url), "exec", strings.Join(rest, ","))

	replicasRun(t, sdk(b.url), "kill", strings.Join(rest, ","))
	time.Sleep(time.Second)
	if now := on(); len(now["node-r1"])+len(now["node-r2"])+len(now["node-r3"]) != 0 {
		t.Errorf("after kill the nodes still run %v", now)
	}
}

// endedEvents reads GET /events (not following) and returns the reasons
// of each sandbox's ended events.
func endedEvents(t *testing.T, base, key string) map[string][]string {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/events?follow=false", nil)
	req.Header.Set("X-API-Key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string][]string{}
	sc := bufio.NewScanner(resp.Body)
	typ := ""
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			typ = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: ") && typ == "ended":
			var ev struct {
				SandboxID string `json:"sandboxID"`
				Reason    string `json:"reason"`
			}
			if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &ev); err != nil {
				t.Fatalf("event %q: %v", line, err)
			}
			out[ev.SandboxID] = append(out[ev.SandboxID], ev.Reason)
		}
	}
	return out
}

// replicasRun runs replicas.mjs and returns the ids it printed (create).
func replicasRun(t *testing.T, env []string, args ...string) []string {
	t.Helper()
	cmd := exec.Command("node", append([]string{"replicas.mjs"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node replicas.mjs %v: %v\n%s", args, err, out.String())
	}
	var ids []string
	if args[0] == "create" {
		if err := json.Unmarshal(bytes.TrimSpace(out.Bytes()), &ids); err != nil {
			t.Fatalf("replicas.mjs printed %q: %v", out.String(), err)
		}
	}
	return ids
}
