package server_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/soulbox/soulbox/internal/auth"
)

// TestSandboxStateDiskBudget: a sandbox whose files are larger than
// --sandbox-state-disk-mb cannot be paused (with its memory or without)
// nor snapshotted: a 429 naming the setting, and it runs on with its
// files, no checkpoint left. Under the budget it pauses and resumes, and
// its snapshots count against the budget.
func TestSandboxStateDiskBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("creates real sandboxes")
	}
	cfg := testConfig(t)
	cfg.AdminKey, _, _ = auth.Generate()
	cfg.SandboxStateDiskMB = 64
	privateTemplates(t, &cfg)
	addr, stop := serveInProcess(t, cfg)
	defer func() {
		if err := stop(); err != nil {
			t.Error(err)
		}
	}()
	c := apiClient{t: t, base: "http://" + addr, key: cfg.AdminKey}
	sb := create(t, c, map[string]any{"timeout": 600})
	id := sb.SandboxID
	defer c.do("DELETE", "/sandboxes/"+id, nil)

	if o, code := sh(t, c, sb, "head -c 100663296 /dev/urandom > /home/user/big.bin && echo kept > /home/user/kept.txt && sync"); code != 0 {
		t.Fatal(o)
	}
	for _, req := range []struct {
		path string
		body map[string]any
	}{
		{"/pause", map[string]any{}},
		{"/pause", map[string]any{"memory": false}},
		{"/snapshots", map[string]any{"memory": false}},
		{"/snapshots", map[string]any{}},
	} {
		code, body, _ := c.do("POST", "/sandboxes/"+id+req.path, req.body)
		if code != 429 || !strings.Contains(string(body), "--sandbox-state-disk-mb") || !strings.Contains(string(body), "its files 9") {
			t.Errorf("POST %s %v with 96 MiB of files over a 64 MiB budget: %d %s; want 429 naming the setting and the size", req.path, req.body, code, body)
		}
	}
	var detail listedJSON
	c.want(200, "GET", "/sandboxes/"+id, nil, &detail)
	if detail.State != "running" {
		t.Errorf("after refused pauses the sandbox is %q, want running", detail.State)
	}
	if o, code := sh(t, c, sb, "cat /home/user/kept.txt && ls -s /home/user/big.bin"); code != 0 || !strings.HasPrefix(o, "kept") {
		t.Errorf("the sandbox after refused pauses: %d %q", code, o)
	}
	if left, _ := filepath.Glob(filepath.Join(cfg.DataDir, "checkpoints", id+"*")); len(left) > 0 {
		t.Errorf("refused pauses left %v", left)
	}
	var snaps []snapshotJSON
	c.want(200, "GET", "/snapshots", nil, &snaps)
	if len(snaps) != 0 {
		t.Errorf("refused snapshots made %+v", snaps)
	}

	// Under the budget: a pause with memory, and a resume with the files.
	if o, code := sh(t, c, sb, "rm /home/user/big.bin && sync"); code != 0 {
		t.Fatal(o)
	}
	c.want(204, "POST", "/sandboxes/"+id+"/pause", map[string]any{}, nil)
	if _, err := os.Stat(filepath.Join(cfg.DataDir, "checkpoints", id)); err != nil {
		t.Errorf("paused with its memory under the budget, no checkpoint: %v", err)
	}
	c.want(201, "POST", "/sandboxes/"+id+"/resume", map[string]any{"timeout": 600}, nil)
	if o, code := sh(t, c, sb, "cat /home/user/kept.txt"); code != 0 || o != "kept\n" {
		t.Errorf("after pause and resume under the budget: %d %q", code, o)
	}

	// Its snapshots count: one of 40 MiB of files fits, a second not.
	if o, code := sh(t, c, sb, "head -c 41943040 /dev/urandom > /home/user/mid.bin && sync"); code != 0 {
		t.Fatal(o)
	}
	var first snapshotJSON
	c.want(201, "POST", "/sandboxes/"+id+"/snapshots", map[string]any{"memory": false}, &first)
	defer c.do("DELETE", "/templates/"+first.SnapshotID, nil)
	code, body, _ := c.do("POST", "/sandboxes/"+id+"/snapshots", map[string]any{"memory": false})
	if code != 429 || !strings.Contains(string(body), "--sandbox-state-disk-mb") || !strings.Contains(string(body), "snapshots") {
		t.Errorf("a second 40 MiB snapshot over a 64 MiB budget: %d %s; want 429", code, body)
	}
	code, body, _ = c.do("POST", "/sandboxes/"+id+"/pause", map[string]any{"memory": false})
	if code != 429 {
		t.Errorf("a pause whose files and snapshot pass the budget: %d %s; want 429", code, body)
	}
	// Deleting the snapshot gives the room back.
	c.want(204, "DELETE", "/templates/"+first.SnapshotID, nil, nil)
	c.want(204, "POST", "/sandboxes/"+id+"/pause", map[string]any{"memory": false}, nil)
}
