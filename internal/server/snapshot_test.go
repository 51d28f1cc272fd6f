package server_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/soulbox/soulbox/internal/auth"
	"github.com/soulbox/soulbox/internal/store/sqlite"
)

type snapshotJSON struct {
	SnapshotID string   `json:"snapshotID"`
	Names      []string `json:"names"`
}

// TestSnapshots: a running sandbox is kept as a snapshot while it runs
// on; two sandboxes start from it (by id and by name) with its processes
// and memory (a counter goes on), files, owners and deletions,
// independent of each other; snapshots
// are listed by sandbox and name, a page at a time, to their team only;
// a snapshot in use cannot be deleted, and deleting the last user frees
// its layer. Bad requests are clear 4xx and change nothing.
func TestSnapshots(t *testing.T) {
	if testing.Short() {
		t.Skip("creates real sandboxes")
	}
	cfg := testConfig(t)
	cfg.AdminKey, _, _ = auth.Generate()
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
	layersDir := filepath.Join(cfg.DataDir, "layers")
	layersBefore, _ := os.ReadDir(layersDir)

	src := create(t, c, map[string]any{"timeout": 600})
	if o, code := sh(t, c, src, counterServer+" echo from-src > /home/user/kept.txt && sudo rm /etc/issue && sudo sh -c 'echo root > /etc/snapflag'; for i in $(seq 50); do curl -s localhost:8000 >/dev/null && exit 0; sleep 0.1; done; exit 1"); code != 0 {
		t.Fatalf("prepare the source: %s", o)
	}
	// curl above counted 1.

	var snap snapshotJSON
	c.want(201, "POST", "/sandboxes/"+src.SandboxID+"/snapshots", map[string]any{"name": "snap-one"}, &snap)
	if snap.SnapshotID == "" || len(snap.Names) != 1 || snap.Names[0] != "snap-one" {
		t.Fatalf("snapshot info %+v", snap)
	}
	if o, code := sh(t, c, src, "echo still > /home/user/after.txt && cat /home/user/kept.txt"); code != 0 || strings.TrimSpace(o) != "from-src" {
		t.Fatalf("the source after its snapshot: %d %q; want it running", code, o)
	}

	var byID, byName sandboxJSON
	c.want(201, "POST", "/sandboxes", map[string]any{"templateID": snap.SnapshotID, "timeout": 600}, &byID)
	c.want(201, "POST", "/sandboxes", map[string]any{"templateID": "snap-one", "timeout": 600}, &byName)
	defer c.do("DELETE", "/sandboxes/"+byID.SandboxID, nil)
	defer c.do("DELETE", "/sandboxes/"+byName.SandboxID, nil)
	want := "from-src\nuser\nroot\nno issue\nno after\n"
	check := "cat /home/user/kept.txt; stat -c %U /home/user/kept.txt; cat /etc/snapflag; [ -e /etc/issue ] || echo no issue; [ -e /home/user/after.txt ] || echo no after"
	for _, sb := range []sandboxJSON{byID, byName} {
		if o, code := sh(t, c, sb, check); code != 0 || o != want {
			t.Errorf("sandbox from the snapshot (%s): %d %q, want %q", sb.TemplateID, code, o, want)
		}
		// Processes and memory: the counter goes on from 1 in each.
		if code, body := proxied(t, c, sb.SandboxID, "8000"); code != 200 || body != "2" {
			t.Errorf("counter in a sandbox from the snapshot: %d %q, want 200 \"2\"", code, body)
		}
		// Its own access token, though its agent is the source's.
		if code, body := proxiedDo(t, c, "GET", "/envs", "", sb.SandboxID, "49983", "X-Access-Token", *src.EnvdAccessToken); code != 401 {
			t.Errorf("sandbox from the snapshot with the source's access token: %d %s, want 401", code, body)
		}
		if code, body := proxiedDo(t, c, "GET", "/envs", "", sb.SandboxID, "49983", "X-Access-Token", *sb.EnvdAccessToken); code != 200 || !strings.Contains(body, `"SOULBOX_SANDBOX_ID":"`+sb.SandboxID+`"`) {
			t.Errorf("sandbox from the snapshot with its own access token: %d %s", code, body)
		}
	}
	if *byID.EnvdAccessToken == *byName.EnvdAccessToken {
		t.Errorf("two sandboxes from one snapshot share an access token")
	}
	if code, body := proxied(t, c, src.SandboxID, "8000"); code != 200 || body != "2" {
		t.Errorf("the source's own counter: %d %q, want 200 \"2\"", code, body)
	}
	// Environment variables cannot be given to a sandbox whose processes
	// come from a snapshot.
	c.want(400, "POST", "/sandboxes", map[string]any{"templateID": snap.SnapshotID, "envVars": map[string]string{"A": "1"}}, nil)
	if o, code := sh(t, c, byID, "echo mine > /home/user/kept.txt"); code != 0 {
		t.Fatal(o)
	}
	if o, _ := sh(t, c, byName, "cat /home/user/kept.txt"); strings.TrimSpace(o) != "from-src" {
		t.Errorf("a write in one sandbox from the snapshot shows in the other: %q", o)
	}

	// Listing: by sandbox, by name, a page at a time; another team sees none.
	var second snapshotJSON
	c.want(201, "POST", "/sandboxes/"+src.SandboxID+"/snapshots", nil, &second)
	if len(second.Names) != 0 {
		t.Errorf("unnamed snapshot has names %v", second.Names)
	}
	var list []snapshotJSON
	c.want(200, "GET", "/snapshots?sandboxID="+src.SandboxID, nil, &list)
	if len(list) != 2 || list[0].SnapshotID != snap.SnapshotID || list[1].SnapshotID != second.SnapshotID {
		t.Errorf("snapshots of the source: %+v", list)
	}
	c.want(200, "GET", "/snapshots?sandboxID="+byID.SandboxID, nil, &list)
	if len(list) != 0 {
		t.Errorf("snapshots of a sandbox that has none: %+v", list)
	}
	c.want(200, "GET", "/snapshots?name=snap-one", nil, &list)
	if len(list) != 1 || list[0].SnapshotID != snap.SnapshotID {
		t.Errorf("snapshots named snap-one: %+v", list)
	}
	h := c.want(200, "GET", "/snapshots?limit=1", nil, &list)
	next := h.Get("X-Next-Token")
	if len(list) != 1 || list[0].SnapshotID != snap.SnapshotID || next == "" {
		t.Fatalf("first page: %+v, next %q", list, next)
	}
	h = c.want(200, "GET", "/snapshots?limit=1&nextToken="+next, nil, &list)
	if len(list) != 1 || list[0].SnapshotID != second.SnapshotID || h.Get("X-Next-Token") != "" {
		t.Errorf("second page: %+v, next %q", list, h.Get("X-Next-Token"))
	}
	other.want(200, "GET", "/snapshots", nil, &list)
	if len(list) != 0 {
		t.Errorf("another team lists %+v", list)
	}

	// Bad requests: clear 4xx, nothing made.
	c.want(404, "POST", "/sandboxes/nosuchsandbox/snapshots", nil, nil)
	other.want(404, "POST", "/sandboxes/"+src.SandboxID+"/snapshots", nil, nil)
	c.want(409, "POST", "/sandboxes/"+src.SandboxID+"/snapshots", map[string]any{"name": "base"}, nil)
	c.want(400, "POST", "/sandboxes/"+src.SandboxID+"/snapshots", map[string]any{"name": "bad name!"}, nil)
	c.want(400, "POST", "/sandboxes/"+src.SandboxID+"/snapshots", map[string]any{"nmae": "typo"}, nil)
	c.want(400, "GET", "/snapshots?nextToken=garbage", nil, nil)
	c.want(400, "GET", "/snapshots?limit=0", nil, nil)
	other.want(404, "POST", "/sandboxes", map[string]any{"templateID": snap.SnapshotID}, nil)
	c.want(404, "POST", "/sandboxes", map[string]any{"templateID": "snap-none"}, nil)
	c.want(200, "GET", "/snapshots?sandboxID="+src.SandboxID, nil, &list)
	if len(list) != 2 {
		t.Errorf("after bad requests the source has %d snapshots, want 2", len(list))
	}

	// A snapshot taken again under its name is a new build of that
	// snapshot (E2B): same id, creates from the name get the new state,
	// listed once. Another team cannot add to it.
	if o, code := sh(t, c, src, "echo v2 > /home/user/v.txt"); code != 0 {
		t.Fatal(o)
	}
	var again snapshotJSON
	c.want(201, "POST", "/sandboxes/"+src.SandboxID+"/snapshots", map[string]any{"name": "snap-one"}, &again)
	if again.SnapshotID != snap.SnapshotID {
		t.Errorf("snapshot again under its name: %+v, want id %s", again, snap.SnapshotID)
	}
	var v2 sandboxJSON
	c.want(201, "POST", "/sandboxes", map[string]any{"templateID": "snap-one", "timeout": 120}, &v2)
	if o, code := sh(t, c, v2, "cat /home/user/v.txt"); code != 0 || o != "v2\n" {
		t.Errorf("sandbox from a snapshot taken again: %d %q, want its newest files", code, o)
	}
	c.want(204, "DELETE", "/sandboxes/"+v2.SandboxID, nil, nil)
	c.want(200, "GET", "/snapshots?name=snap-one", nil, &list)
	if len(list) != 1 || list[0].SnapshotID != snap.SnapshotID {
		t.Errorf("snapshots named snap-one after a second build: %+v", list)
	}
	theirs := create(t, other, map[string]any{"timeout": 120})
	other.want(409, "POST", "/sandboxes/"+theirs.SandboxID+"/snapshots", map[string]any{"name": "snap-one"}, nil)
	other.want(204, "DELETE", "/sandboxes/"+theirs.SandboxID, nil, nil)

	// A sandbox from a snapshot of one made without secure access has
	// no access token, so it cannot be made secure.
	plain := create(t, c, map[string]any{"timeout": 120, "secure": false})
	var open snapshotJSON
	c.want(201, "POST", "/sandboxes/"+plain.SandboxID+"/snapshots", nil, &open)
	c.want(400, "POST", "/sandboxes", map[string]any{"templateID": open.SnapshotID, "secure": true}, nil)
	c.want(204, "DELETE", "/sandboxes/"+plain.SandboxID, nil, nil)
	c.want(204, "DELETE", "/templates/"+open.SnapshotID, nil, nil)

	// memory: false (E2B's SandboxSnapshotRequest) keeps the files only:
	// a sandbox from it cold-boots with them, without the processes, and
	// takes envVars as any create does. A memory that is not a boolean
	// is refused.
	c.want(400, "POST", "/sandboxes/"+src.SandboxID+"/snapshots", map[string]any{"memory": "no"}, nil)
	var filesOnly snapshotJSON
	c.want(201, "POST", "/sandboxes/"+src.SandboxID+"/snapshots", map[string]any{"memory": false}, &filesOnly)
	var cold sandboxJSON
	c.want(201, "POST", "/sandboxes", map[string]any{"templateID": filesOnly.SnapshotID, "timeout": 120, "envVars": map[string]string{"COLD": "1"}}, &cold)
	if o, code := sh(t, c, cold, `cat /home/user/kept.txt; echo "$COLD"`); code != 0 || o != "from-src\n1\n" {
		t.Errorf("sandbox from a snapshot without memory: %d %q, want the files and its envVars", code, o)
	}
	if code, body := proxied(t, c, cold.SandboxID, "8000"); code == 200 {
		t.Errorf("the source's counter runs in a sandbox from a snapshot without memory: %d %q", code, body)
	}
	c.want(204, "DELETE", "/sandboxes/"+cold.SandboxID, nil, nil)
	c.want(204, "DELETE", "/templates/"+filesOnly.SnapshotID, nil, nil)

	// A snapshot outlives its sandbox; in use, it cannot be deleted.
	c.want(204, "DELETE", "/sandboxes/"+src.SandboxID, nil, nil)
	c.want(409, "DELETE", "/templates/"+snap.SnapshotID, nil, nil)
	other.want(404, "DELETE", "/templates/"+snap.SnapshotID, nil, nil)
	c.want(204, "DELETE", "/sandboxes/"+byID.SandboxID, nil, nil)
	c.want(204, "DELETE", "/sandboxes/"+byName.SandboxID, nil, nil)
	c.want(204, "DELETE", "/templates/"+snap.SnapshotID, nil, nil)
	c.want(204, "DELETE", "/templates/"+second.SnapshotID, nil, nil)
	c.want(200, "GET", "/snapshots", nil, &list)
	if len(list) != 0 {
		t.Errorf("snapshots after deleting both: %+v", list)
	}
	if after, _ := os.ReadDir(layersDir); len(after) != len(layersBefore) {
		t.Errorf("layers after deleting the snapshots: %d, before them %d", len(after), len(layersBefore))
	}
}
