package server_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/soulbox/soulbox/internal/auth"
	"github.com/soulbox/soulbox/internal/store/sqlite"
)

type forkResultJSON struct {
	Sandbox *sandboxJSON `json:"sandbox"`
	Error   *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// TestFork: a fork of 3 under a team limit of 3 sandboxes makes two
// sandboxes with the source's processes and memory (a counter goes on
// from where it was), files, environment and metadata, each its own and
// independent, and reports the third's refusal in its own entry;
// the source keeps its id and end. Bad requests are clear 4xx and make
// nothing.
func TestFork(t *testing.T) {
	if testing.Short() {
		t.Skip("creates real sandboxes")
	}
	cfg := testConfig(t)
	cfg.AdminKey, _, _ = auth.Generate()
	cfg.MaxSandboxes = 3
	privateTemplates(t, &cfg)
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(cfg.DataDir, "soulbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	otherKey, _, err := auth.Create(ctx, db, "other", "team-b", false)
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	addr, stop := serveInProcess(t, cfg)
	defer func() {
		if err := stop(); err != nil {
			t.Error(err)
		}
	}()
	c := apiClient{t: t, base: "http://" + addr, key: cfg.AdminKey}
	other := apiClient{t: t, base: c.base, key: otherKey}

	src := create(t, c, map[string]any{"timeout": 600, "envVars": map[string]string{"FORK_ENV": "inherited"}, "metadata": map[string]string{"role": "src"}})
	if o, code := sh(t, c, src, counterServer+" echo from-src > /home/user/state.txt; for i in $(seq 50); do curl -s localhost:8000 >/dev/null && exit 0; sleep 0.1; done; exit 1"); code != 0 {
		t.Fatal(o)
	}
	// curl above counted 1.
	if code, body := proxied(t, c, src.SandboxID, "8000"); code != 200 || body != "2" {
		t.Fatalf("counter through the proxy: %d %q", code, body)
	}
	var before listedJSON
	c.want(200, "GET", "/sandboxes/"+src.SandboxID, nil, &before)

	// Bad requests first: nothing is made.
	c.want(400, "POST", "/sandboxes/"+src.SandboxID+"/fork", map[string]any{"count": 0}, nil)
	c.want(400, "POST", "/sandboxes/"+src.SandboxID+"/fork", map[string]any{"count": 101}, nil)
	c.want(400, "POST", "/sandboxes/"+src.SandboxID+"/fork", map[string]any{"timeout": 0}, nil)
	c.want(400, "POST", "/sandboxes/"+src.SandboxID+"/fork", map[string]any{"cuont": 2}, nil)
	c.want(404, "POST", "/sandboxes/nosuchsandbox/fork", map[string]any{"count": 1}, nil)
	other.want(404, "POST", "/sandboxes/"+src.SandboxID+"/fork", map[string]any{"count": 1}, nil)
	var snaps []snapshotJSON
	c.want(200, "GET", "/snapshots", nil, &snaps)
	if len(snaps) != 0 {
		t.Fatalf("bad fork requests made snapshots %+v", snaps)
	}

	var res []forkResultJSON
	c.want(201, "POST", "/sandboxes/"+src.SandboxID+"/fork", map[string]any{"count": 3, "timeout": 120}, &res)
	if len(res) != 3 {
		t.Fatalf("fork of 3 answered %d results", len(res))
	}
	var forks []sandboxJSON
	for i, r := range res {
		switch {
		case (r.Sandbox == nil) == (r.Error == nil):
			t.Errorf("result %d has not exactly one of sandbox and error: %+v", i, r)
		case r.Sandbox != nil:
			forks = append(forks, *r.Sandbox)
		case r.Error.Code != 429 || !strings.Contains(r.Error.Message, "max-sandboxes"):
			t.Errorf("result %d: error %+v, want the team limit's 429", i, r.Error)
		}
	}
	if len(forks) != 2 {
		t.Fatalf("forks made under a limit of 3 with the source running: %d, want 2", len(forks))
	}
	if *forks[0].EnvdAccessToken == *forks[1].EnvdAccessToken {
		t.Errorf("sibling forks share an access token")
	}
	for _, f := range forks {
		if f.SandboxID == src.SandboxID || f.EnvdAccessToken == nil {
			t.Errorf("fork %+v: want its own id and an access token", f)
		}
		// Its own access token: the source's opens neither the fork nor
		// (below) the fork's the source, though the agent is the
		// source's, restored.
		if *f.EnvdAccessToken == *src.EnvdAccessToken {
			t.Errorf("fork %s has its source's access token", f.SandboxID)
		}
		if code, body := proxiedDo(t, c, "GET", "/envs", "", f.SandboxID, "49983", "X-Access-Token", *src.EnvdAccessToken); code != 401 {
			t.Errorf("fork %s with the source's access token: %d %s, want 401", f.SandboxID, code, body)
		}
		if code, body := proxiedDo(t, c, "GET", "/envs", "", src.SandboxID, "49983", "X-Access-Token", *f.EnvdAccessToken); code != 401 {
			t.Errorf("the source with fork %s's access token: %d %s, want 401", f.SandboxID, code, body)
		}
		if code, body := proxiedDo(t, c, "GET", "/envs", "", f.SandboxID, "49983", "X-Access-Token", *f.EnvdAccessToken); code != 200 || !strings.Contains(body, "inherited") || !strings.Contains(body, `"SOULBOX_SANDBOX_ID":"`+f.SandboxID+`"`) {
			t.Errorf("fork %s with its own access token: %d %s", f.SandboxID, code, body)
		}
		if o, code := sh(t, c, f, `cat /home/user/state.txt; echo "$FORK_ENV"`); code != 0 || o != "from-src\ninherited\n" {
			t.Errorf("fork %s: %d %q, want the source's file and environment", f.SandboxID, code, o)
		}
		// Memory: the counter goes on from where the source was.
		if code, body := proxied(t, c, f.SandboxID, "8000"); code != 200 || body != "3" {
			t.Errorf("fork %s counter: %d %q, want 200 \"3\" (the source's memory)", f.SandboxID, code, body)
		}
		var d listedJSON
		c.want(200, "GET", "/sandboxes/"+f.SandboxID, nil, &d)
		if d.Metadata["role"] != "src" {
			t.Errorf("fork metadata %v", d.Metadata)
		}
	}
	if o, _ := sh(t, c, forks[0], "echo changed > /home/user/state.txt"); o != "" {
		t.Fatal(o)
	}
	if o, _ := sh(t, c, forks[1], "cat /home/user/state.txt"); strings.TrimSpace(o) != "from-src" {
		t.Errorf("forks share files: %q", o)
	}
	if o, _ := sh(t, c, src, "cat /home/user/state.txt"); strings.TrimSpace(o) != "from-src" {
		t.Errorf("the source after its fork: %q", o)
	}
	if code, body := proxied(t, c, src.SandboxID, "8000"); code != 200 || body != "3" {
		t.Errorf("source counter after the fork: %d %q, want its own 3", code, body)
	}
	if code, body := proxied(t, c, forks[0].SandboxID, "8000"); code != 200 || body != "4" {
		t.Errorf("first fork's second count: %d %q, want 4", code, body)
	}
	var after listedJSON
	c.want(200, "GET", "/sandboxes/"+src.SandboxID, nil, &after)
	if after.State != "running" || after.EndAt != before.EndAt {
		t.Errorf("the source after its fork: %s, end %v; before %s, end %v", after.State, after.EndAt, before.State, before.EndAt)
	}
	for _, f := range forks {
		c.want(204, "DELETE", "/sandboxes/"+f.SandboxID, nil, nil)
	}
	c.want(204, "DELETE", "/sandboxes/"+src.SandboxID, nil, nil)
}
