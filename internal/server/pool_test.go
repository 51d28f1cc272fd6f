package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/client"
	"github.com/soulbox/soulbox/internal/pool"
	"github.com/soulbox/soulbox/internal/runtime/oci"
	"github.com/soulbox/soulbox/internal/runtime/oci/ocitest"
	"github.com/soulbox/soulbox/internal/server"
	"github.com/soulbox/soulbox/internal/testutil"
)

type healthJSON struct {
	Pool []pool.Stats `json:"pool"`
}

func poolStats(t *testing.T, c apiClient) pool.Stats {
	t.Helper()
	var h healthJSON
	c.want(200, "GET", "/health", nil, &h)
	if len(h.Pool) != 1 || h.Pool[0].Template != "base" {
		t.Fatalf("pool in /health: %+v", h.Pool)
	}
	return h.Pool[0]
}

func waitPool(t *testing.T, c apiClient, ready int) pool.Stats {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		st := poolStats(t, c)
		if st.Ready >= ready {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("pool never had %d ready: %+v", ready, st)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// pooledIDs are the sandboxes the runtime runs that no client owns: the
// pool's.
func pooledIDs(t *testing.T, c apiClient, cfg server.Config) []string {
	t.Helper()
	d, err := oci.New(oci.Config{Root: cfg.DataDir + "/runtime", AgentPath: cfg.AgentPath, Templates: ocitest.Templates(t)})
	if err != nil {
		t.Fatal(err)
	}
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
	for _, info := range all {
		if !owned[info.ID] {
			out = append(out, info.ID)
		}
	}
	return out
}

func TestWarmPool(t *testing.T) {
	if testing.Short() {
		t.Skip("creates real sandboxes")
	}
	c, cfg := runServer(t, func(cfg *server.Config) {
		cfg.PoolMin, cfg.PoolMax, cfg.PoolPrewarm = 3, 3, "none"
	})
	waitPool(t, c, 3)
	cl := &client.Client{BaseURL: c.base, APIKey: c.key}
	ctx := context.Background()

	// Pooled sandboxes are nobody's until claimed.
	var listed []listedJSON
	c.want(200, "GET", "/v2/sandboxes", nil, &listed)
	if len(listed) != 0 {
		t.Fatalf("pooled sandboxes listed before any create: %+v", listed)
	}
	if ids := pooledIDs(t, c, cfg); len(ids) != 3 {
		t.Fatalf("runtime has %d unowned sandboxes, want the 3 pooled", len(ids))
	}

	t.Run("personalised at claim", func(t *testing.T) {
		var sb sandboxJSON
		c.want(201, "POST", "/sandboxes", map[string]any{
			"templateID": "base", "envVars": map[string]string{"GREETING": "hello"},
			"metadata": map[string]string{"owner": "test"}, "memoryMB": 256, "cpuCount": 1, "timeout": 120,
		}, &sb)
		if st := poolStats(t, c); st.Hits != 1 {
			t.Fatalf("create was not served from the pool: %+v", st)
		}
		if code, body, _ := c.do("GET", "/metrics", nil); code != 200 || !strings.Contains(string(body), `soulbox_pool_hits_total{template="base"} 1`+"\n") {
			t.Errorf("/metrics: %d\n%s", code, body)
		}
		got, err := cl.Get(ctx, sb.SandboxID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Metadata["owner"] != "test" || got.MemoryMB != 256 || got.CPUCount != 1 || time.Until(got.EndAt) > 121*time.Second {
			t.Errorf("record: %+v", got)
		}
		var out bytes.Buffer
		got.EnvdAccessToken = *sb.EnvdAccessToken
		code, err := cl.Exec(ctx, got, []string{"bash", "-c", "echo $GREETING; cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max"}, client.ExecOptions{Stdout: &out})
		if err != nil || code != 0 {
			t.Fatalf("exec: %d %v", code, err)
		}
		if want := fmt.Sprintf("hello\n%d\n", 256<<20); out.String() != want {
			t.Errorf("in the sandbox: %q, want %q", out.String(), want)
		}
		// Pooled sandboxes wait at a low CPU priority; a claimed one runs at
		// the normal one.
		d, err := oci.New(oci.Config{Root: cfg.DataDir + "/runtime", AgentPath: cfg.AgentPath, Templates: ocitest.Templates(t)})
		if err != nil {
			t.Fatal(err)
		}
		if n := niceness(t, d, sb.SandboxID); n != 0 {
			t.Errorf("claimed sandbox's agent at niceness %d", n)
		}
		for _, id := range pooledIDs(t, c, cfg) {
			if n := niceness(t, d, id); n != 10 {
				t.Errorf("pooled sandbox %s's agent at niceness %d, want 10", id, n)
			}
		}
		// The token is the claim's own: the pool's agent accepted it.
		bad := got
		bad.EnvdAccessToken = "not-the-token"
		if _, err := cl.Exec(ctx, bad, []string{"true"}, client.ExecOptions{}); err == nil {
			t.Error("exec with a wrong token succeeded")
		}
	})

	t.Run("concurrent claims never share", func(t *testing.T) {
		waitPool(t, c, 3)
		const n = 6
		var mu sync.Mutex
		ids := map[string]int{}
		var wg sync.WaitGroup
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var sb sandboxJSON
				c.want(201, "POST", "/sandboxes", map[string]any{"templateID": "base"}, &sb)
				mu.Lock()
				ids[sb.SandboxID]++
				mu.Unlock()
			}()
		}
		wg.Wait()
		for id, k := range ids {
			if k != 1 {
				t.Errorf("%s handed to %d creates", id, k)
			}
		}
		if len(ids) != n {
			t.Errorf("%d distinct sandboxes for %d creates", len(ids), n)
		}
		for id := range ids {
			c.want(204, "DELETE", "/sandboxes/"+id, nil, nil)
		}
	})

	t.Run("a pooled sandbox whose agent died is discarded", func(t *testing.T) {
		waitPool(t, c, 3)
		before := poolStats(t, c)
		d, err := oci.New(oci.Config{Root: cfg.DataDir + "/runtime", AgentPath: cfg.AgentPath, Templates: ocitest.Templates(t)})
		if err != nil {
			t.Fatal(err)
		}
		dead := map[string]bool{}
		for _, id := range pooledIDs(t, c, cfg) {
			info, err := d.Info(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if err := syscall.Kill(info.Pid, syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			dead[id] = true
		}
		var sb sandboxJSON
		c.want(201, "POST", "/sandboxes", map[string]any{"templateID": "base"}, &sb)
		if dead[sb.SandboxID] {
			t.Fatalf("served %s, whose agent was killed", sb.SandboxID)
		}
		after := poolStats(t, c)
		if after.Discarded == before.Discarded {
			t.Errorf("nothing discarded: %+v", after)
		}
		sbx, _ := cl.Get(ctx, sb.SandboxID)
		sbx.EnvdAccessToken = *sb.EnvdAccessToken
		if code, err := cl.Exec(ctx, sbx, []string{"true"}, client.ExecOptions{}); err != nil || code != 0 {
			t.Errorf("the sandbox served instead does not work: %d %v", code, err)
		}
	})

	t.Run("Soulbox-Pool: off creates cold", func(t *testing.T) {
		waitPool(t, c, 1)
		before := poolStats(t, c)
		req := map[string]any{"templateID": "base"}
		b, _ := json.Marshal(req)
		code, body := postWithHeader(t, c, "/sandboxes", b, "Soulbox-Pool", "off")
		if code != 201 {
			t.Fatalf("create: %d %s", code, body)
		}
		if after := poolStats(t, c); after.Hits != before.Hits || after.Misses != before.Misses {
			t.Errorf("the pool was asked: %+v then %+v", before, after)
		}
	})
}

func postWithHeader(t *testing.T, c apiClient, path string, body []byte, k, v string) (int, string) {
	t.Helper()
	req, _ := newRequest("POST", c.base+path, body)
	req.Header.Set("X-API-Key", c.key)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(k, v)
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// The pool's sandboxes go when the server stops.
func TestWarmPoolDrainsOnStop(t *testing.T) {
	if testing.Short() {
		t.Skip("creates real sandboxes")
	}
	cfg := testConfig(t)
	cfg.PoolMin, cfg.PoolMax, cfg.PoolPrewarm = 2, 2, "none"
	addr, stop := serveInProcess(t, cfg)
	waitPool(t, apiClient{t: t, base: "http://" + addr}, 2)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(cfg.DataDir + "/runtime")
	d, err := oci.New(oci.Config{Root: cfg.DataDir + "/runtime", AgentPath: cfg.AgentPath, Templates: ocitest.Templates(t)})
	if err != nil {
		t.Fatal(err)
	}
	if left, _ := d.List(context.Background()); len(left) != 0 {
		t.Errorf("%d sandboxes left after stop (%d entries in the runtime dir)", len(left), len(entries))
	}
}

var httpClient = &http.Client{Timeout: time.Minute}

func newRequest(method, url string, body []byte) (*http.Request, error) {
	return http.NewRequest(method, url, bytes.NewReader(body))
}

// niceness reads the CPU niceness of a sandbox's agent from the host.
func niceness(t *testing.T, d *oci.Driver, id string) int {
	t.Helper()
	info, err := d.Info(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return testutil.Niceness(t, info.Pid)
}

// A team at its quota gets 429 without costing the pool a sandbox.
func TestWarmPoolQuota(t *testing.T) {
	if testing.Short() {
		t.Skip("creates real sandboxes")
	}
	c, _ := runServer(t, func(cfg *server.Config) {
		cfg.PoolMin, cfg.PoolMax, cfg.PoolPrewarm, cfg.MaxSandboxes = 2, 2, "none", 1
	})
	waitPool(t, c, 2)
	c.want(201, "POST", "/sandboxes", map[string]any{"templateID": "base"}, nil)
	for range 3 {
		c.want(429, "POST", "/sandboxes", map[string]any{"templateID": "base"}, nil)
	}
	if st := poolStats(t, c); st.Hits != 1 || st.Misses != 0 || st.Discarded != 0 {
		t.Errorf("refused creates touched the pool: %+v", st)
	}
}
