package server_test

import (
	"strings"
	"testing"

	"github.com/soulbox/soulbox/internal/auth"
)

// TestSnapshotDiskBudget: a snapshot whose files would take the
// snapshots past --snapshot-disk-mb is a 429 naming the setting and the
// way out; nothing is made and the source runs on. A fork with memory
// keeps no snapshot; its checkpoint is held to --paused-disk-mb.
func TestSnapshotDiskBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("creates real sandboxes")
	}
	cfg := testConfig(t)
	cfg.AdminKey, _, _ = auth.Generate()
	cfg.SnapshotDiskMB = 4
	cfg.PausedDiskMB = 1
	privateTemplates(t, &cfg)
	addr, stop := serveInProcess(t, cfg)
	defer func() {
		if err := stop(); err != nil {
			t.Error(err)
		}
	}()
	c := apiClient{t: t, base: "http://" + addr, key: cfg.AdminKey}
	src := create(t, c, map[string]any{"timeout": 600})
	defer c.want(204, "DELETE", "/sandboxes/"+src.SandboxID, nil, nil)

	// Small changes fit, without the memory; with it, the processes'
	// memory counts too: a process holding 16 MiB does not fit 4 MiB.
	if o, code := sh(t, c, src, `nohup python3 -c 'import time; b = bytearray(16 << 20); b[::4096] = b"x" * len(b[::4096]); open("/tmp/held", "w").close(); time.sleep(600)' >/dev/null 2>&1 & for i in $(seq 100); do [ -e /tmp/held ] && exit 0; sleep 0.1; done; exit 1`); code != 0 {
		t.Fatal(o)
	}
	var small snapshotJSON
	c.want(201, "POST", "/sandboxes/"+src.SandboxID+"/snapshots", map[string]any{"memory": false}, &small)
	code, body, _ := c.do("POST", "/sandboxes/"+src.SandboxID+"/snapshots", map[string]any{})
	if code != 429 || !strings.Contains(string(body), "--snapshot-disk-mb") {
		t.Errorf("POST /snapshots with memory over the budget: %d %s; want 429 naming the setting", code, body)
	}
	if o, code := sh(t, c, src, "head -c 8388608 /dev/urandom > /home/user/big.bin && sync"); code != 0 {
		t.Fatal(o)
	}
	code, body, _ = c.do("POST", "/sandboxes/"+src.SandboxID+"/snapshots", map[string]any{"memory": false})
	if code != 429 || !strings.Contains(string(body), "--snapshot-disk-mb") {
		t.Errorf("POST /snapshots over the budget: %d %s; want 429 naming the setting", code, body)
	}
	code, body, _ = c.do("POST", "/sandboxes/"+src.SandboxID+"/fork", map[string]any{"count": 2})
	if code != 429 || !strings.Contains(string(body), "--paused-disk-mb") {
		t.Errorf("fork with memory over the checkpoint budget: %d %s; want 429 naming the setting", code, body)
	}
	var list []snapshotJSON
	c.want(200, "GET", "/snapshots", nil, &list)
	if len(list) != 1 || list[0].SnapshotID != small.SnapshotID {
		t.Errorf("snapshots after refusals: %+v, want only the first", list)
	}
	if o, code := sh(t, c, src, "ls -s /home/user/big.bin"); code != 0 {
		t.Errorf("the source after refused snapshots: %d %s", code, o)
	}
	c.want(204, "DELETE", "/templates/"+small.SnapshotID, nil, nil)
}
