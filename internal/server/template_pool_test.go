package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/auth"
	"github.com/soulbox/soulbox/internal/client"
	"github.com/soulbox/soulbox/internal/mountinfo"
	"github.com/soulbox/soulbox/internal/pool"
	"github.com/soulbox/soulbox/internal/runtime/oci/ocitest"
	"github.com/soulbox/soulbox/internal/server"
	"github.com/soulbox/soulbox/internal/telemetry"
)

// privateTemplates gives cfg a template directory of its own, with the
// default template linked from the shared cache: deleting a template
// collects every layer its server's store does not refer to, which in
// the shared cache would be other tests' too.
func privateTemplates(t testing.TB, cfg *server.Config) {
	t.Helper()
	dir := filepath.Join(cfg.DataDir, "templates")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(ocitest.TemplateCache(), "base"), filepath.Join(dir, "base")); err != nil {
		t.Fatal(err)
	}
	cfg.TemplatesDir = dir
}

// templatePoolStats is the pool of template id, if it has one, as its
// team sees it (GET /templates/{id}/pool): /health folds teams' template
// pools into one entry.
func templatePoolStats(t testing.TB, c apiClient, id string) (pool.Stats, bool) {
	t.Helper()
	var st pool.Stats // the same JSON names
	code, b, _ := c.do("GET", "/templates/"+id+"/pool", nil)
	if code == 404 {
		// Gone from the catalog: still pooled if /health's one entry
		// for teams' templates has sandboxes.
		var h healthJSON
		c.want(200, "GET", "/health", nil, &h)
		for _, st := range h.Pool {
			if st.Template == telemetry.OtherTemplates && (st.Target > 0 || st.Ready > 0 || st.Filling > 0) {
				return st, true
			}
		}
		return pool.Stats{}, false
	}
	if code != 200 || json.Unmarshal(b, &st) != nil {
		t.Fatalf("GET /templates/%s/pool = %d %s", id, code, b)
	}
	st.Template = id
	return st, st.Target > 0 || st.Ready > 0 || st.Filling > 0
}

func waitTemplatePool(t testing.TB, c apiClient, id string, ready int) pool.Stats {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		st, _ := templatePoolStats(t, c, id)
		if st.Ready >= ready {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("pool of %s never had %d ready: %+v", id, ready, st)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// buildTemplate builds name from the default template with steps,
// through E2B's build API, and returns its id once the build is ready.
func buildTemplate(t testing.TB, c apiClient, name string, spec map[string]any) string {
	t.Helper()
	var req struct {
		TemplateID string `json:"templateID"`
		BuildID    string `json:"buildID"`
	}
	c.want(202, "POST", "/v3/templates", map[string]any{"name": name, "cpuCount": 1, "memoryMB": 512}, &req)
	c.want(202, "POST", "/v2/templates/"+req.TemplateID+"/builds/"+req.BuildID, spec, nil)
	deadline := time.Now().Add(5 * time.Minute)
	for {
		var st struct {
			Status string `json:"status"`
			Reason any    `json:"reason"`
		}
		c.want(200, "GET", "/templates/"+req.TemplateID+"/builds/"+req.BuildID+"/status", nil, &st)
		switch st.Status {
		case "ready":
			return req.TemplateID
		case "error":
			t.Fatalf("build of %s failed: %v", name, st.Reason)
		}
		if time.Now().After(deadline) {
			t.Fatalf("build of %s still %s", name, st.Status)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type poolJSON struct {
	TemplateID string   `json:"templateID"`
	Min        int      `json:"min"`
	Max        int      `json:"max"`
	Prewarm    []string `json:"prewarm"`
	Source     string   `json:"source"`
	Ready      int      `json:"ready"`
	Hits       uint64   `json:"hits"`
}

// A template built through the API is pooled as the configuration says,
// with its start command already running and ready; a create from it is
// a pool hit; the API changes its pool; deleting it drains the pool and
// leaves no sandbox behind.
func TestTemplatePool(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a template and creates real sandboxes")
	}
	c, cfg := runServer(t, func(cfg *server.Config) {
		privateTemplates(t, cfg)
		cfg.PoolPrewarm = "none"
		cfg.PoolTemplates = "pooled-app=1:2"
	})
	id := buildTemplate(t, c, "pooled-app", map[string]any{
		"fromTemplate": "base",
		"steps":        []map[string]any{{"type": "RUN", "args": []string{"echo built > /home/user/marker"}}},
		"startCmd":     "sleep 1; date +%s%N > /home/user/started; exec sleep 100000",
		"readyCmd":     "test -s /home/user/started",
	})
	waitTemplatePool(t, c, id, 1)
	if _, ok := templatePoolStats(t, c, "base"); ok {
		t.Error("the default template is pooled with its bounds at 0")
	}
	var p poolJSON
	c.want(200, "GET", "/templates/pooled-app/pool", nil, &p)
	if p.TemplateID != id || p.Min != 1 || p.Max != 2 || p.Source != "config" || p.Ready < 1 {
		t.Errorf("pool before any create: %+v", p)
	}

	var sb sandboxJSON
	c.want(201, "POST", "/sandboxes", map[string]any{"templateID": "pooled-app", "timeout": 120}, &sb)
	st, _ := templatePoolStats(t, c, id)
	if st.Hits != 1 || st.Misses != 0 {
		t.Fatalf("create from the template was not a pool hit: %+v", st)
	}
	cl := &client.Client{BaseURL: c.base, APIKey: c.key}
	ctx := context.Background()
	got, err := cl.Get(ctx, sb.SandboxID)
	if err != nil {
		t.Fatal(err)
	}
	got.EnvdAccessToken = *sb.EnvdAccessToken
	var out bytes.Buffer
	// The build's file is there, and the start command ran before the
	// create: the claim paid no start or ready wait.
	code, err := cl.Exec(ctx, got, []string{"sh", "-c", "cat /home/user/marker; test -s /home/user/started && echo started; pgrep -x sleep >/dev/null && echo running"}, client.ExecOptions{Stdout: &out})
	if err != nil || code != 0 {
		t.Fatalf("exec: %d %v", code, err)
	}
	if out.String() != "built\nstarted\nrunning\n" {
		t.Errorf("in the pooled sandbox: %q", out.String())
	}

	t.Run("bad bounds change nothing", func(t *testing.T) {
		for _, body := range []map[string]any{
			{"min": 3, "max": 1}, {"max": -1}, {"min": 1}, {"max": 2, "mini": 1},
			{"max": 2, "prewarm": []string{"cobol"}}, {"max": pool.MaxSize + 1},
		} {
			code, b, _ := c.do("PUT", "/templates/pooled-app/pool", body)
			if code != 400 || !strings.Contains(string(b), `"message"`) {
				t.Errorf("PUT %v: %d %s", body, code, b)
			}
		}
		c.want(404, "PUT", "/templates/no-such-template/pool", map[string]any{"max": 1}, nil)
		c.want(404, "GET", "/templates/no-such-template/pool", nil, nil)
		var p poolJSON
		c.want(200, "GET", "/templates/pooled-app/pool", nil, &p)
		if p.Source != "config" || p.Min != 1 || p.Max != 2 {
			t.Errorf("pool after bad input: %+v", p)
		}
	})

	t.Run("set through the API", func(t *testing.T) {
		var p poolJSON
		c.want(200, "PUT", "/templates/pooled-app/pool", map[string]any{"min": 2, "max": 3}, &p)
		if p.Source != "api" || p.Min != 2 || p.Max != 3 {
			t.Errorf("PUT answered %+v", p)
		}
		waitTemplatePool(t, c, id, 2)
		c.want(200, "DELETE", "/templates/pooled-app/pool", nil, &p)
		if p.Source != "config" || p.Min != 1 || p.Max != 2 {
			t.Errorf("DELETE answered %+v", p)
		}
	})

	t.Run("a rebuild replaces the pooled sandboxes", func(t *testing.T) {
		old := map[string]bool{}
		for _, id := range pooledIDs(t, c, cfg) {
			old[id] = true
		}
		buildTemplate(t, c, "pooled-app", map[string]any{
			"fromTemplate": "base",
			"steps":        []map[string]any{{"type": "RUN", "args": []string{"echo rebuilt > /home/user/marker"}}},
		})
		deadline := time.Now().Add(2 * time.Minute)
		for {
			ids := pooledIDs(t, c, cfg)
			fresh := len(ids) > 0
			for _, id := range ids {
				fresh = fresh && !old[id]
			}
			if st, _ := templatePoolStats(t, c, id); fresh && st.Ready >= 1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("pool still holds sandboxes of the old build: %v (old %v)", ids, old)
			}
			time.Sleep(50 * time.Millisecond)
		}
		before, _ := templatePoolStats(t, c, id)
		var sb2 sandboxJSON
		c.want(201, "POST", "/sandboxes", map[string]any{"templateID": "pooled-app", "timeout": 60}, &sb2)
		if st, _ := templatePoolStats(t, c, id); st.Hits != before.Hits+1 {
			t.Errorf("create after the rebuild was not a pool hit: %+v", st)
		}
		got, err := cl.Get(ctx, sb2.SandboxID)
		if err != nil {
			t.Fatal(err)
		}
		got.EnvdAccessToken = *sb2.EnvdAccessToken
		var out bytes.Buffer
		if code, err := cl.Exec(ctx, got, []string{"cat", "/home/user/marker"}, client.ExecOptions{Stdout: &out}); err != nil || code != 0 {
			t.Fatalf("exec: %d %v", code, err)
		}
		if out.String() != "rebuilt\n" {
			t.Errorf("pooled sandbox after the rebuild has %q", out.String())
		}
		c.want(204, "DELETE", "/sandboxes/"+sb2.SandboxID, nil, nil)
	})

	// A template sandboxes run from is not deleted, and keeps its pool.
	c.want(409, "DELETE", "/templates/pooled-app", nil, nil)
	if _, ok := templatePoolStats(t, c, id); !ok {
		t.Fatal("a refused delete dropped the pool")
	}
	c.want(204, "DELETE", "/sandboxes/"+sb.SandboxID, nil, nil)
	c.want(204, "DELETE", "/templates/pooled-app", nil, nil)
	if st, ok := templatePoolStats(t, c, id); ok {
		t.Errorf("deleted template still pooled: %+v", st)
	}
	if ids := pooledIDs(t, c, cfg); len(ids) != 0 {
		t.Errorf("sandboxes left in the runtime after the template's delete: %v", ids)
	}
	if mounts, err := mountinfo.Under(cfg.DataDir); err != nil || len(mounts) != 0 {
		t.Errorf("mounts left after the template's delete: %v %v", mounts, err)
	}
	// Its layers went with it: nothing else used them.
	if layers, _ := os.ReadDir(filepath.Join(cfg.DataDir, "layers")); len(layers) != 0 {
		t.Errorf("%d layers left after the template's delete", len(layers))
	}
}

// Bounds set through the API are stored: a restarted server pools the
// template as they say, without being told again.
func TestTemplatePoolSurvivesRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a template and creates real sandboxes")
	}
	cfg := testConfig(t)
	cfg.AdminKey, _, _ = auth.Generate()
	cfg.PoolPrewarm = "none"
	privateTemplates(t, &cfg)
	addr, stop := serveInProcess(t, cfg)
	c := apiClient{t: t, base: "http://" + addr, key: cfg.AdminKey}
	id := buildTemplate(t, c, "kept-pool", map[string]any{
		"fromTemplate": "base",
		"steps":        []map[string]any{{"type": "RUN", "args": []string{"true"}}},
	})
	if _, ok := templatePoolStats(t, c, id); ok {
		t.Fatal("pooled with no bounds configured")
	}
	c.want(200, "PUT", "/templates/kept-pool/pool", map[string]any{"min": 1, "max": 1}, nil)
	waitTemplatePool(t, c, id, 1)
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
	var p poolJSON
	c.want(200, "GET", "/templates/kept-pool/pool", nil, &p)
	if p.Source != "api" || p.Min != 1 || p.Max != 1 {
		t.Errorf("pool after a restart: %+v", p)
	}
	waitTemplatePool(t, c, id, 1)
	c.want(204, "DELETE", "/templates/kept-pool", nil, nil)
}
