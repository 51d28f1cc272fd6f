package server_test

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	_ "modernc.org/sqlite"

	"github.com/soulbox/soulbox/internal/store"
)

// verifyJSON is GET /audit/verify's answer.
type verifyJSON struct {
	OK      bool   `json:"ok"`
	Entries int    `json:"entries"`
	HeadID  int64  `json:"headID"`
	Head    string `json:"head"`
	BadID   int64  `json:"badID"`
	Problem string `json:"problem"`
}

// find returns the entries whose action is action.
func find(entries []store.AuditEntry, action string) []store.AuditEntry {
	var out []store.AuditEntry
	for _, e := range entries {
		if e.Action == action {
			out = append(out, e)
		}
	}
	return out
}

// TestAuditLog: every change and every refused credential is recorded
// with who, what, when, from where and how it ended; a team reads only
// its own; the chain verifies, and stops verifying once a row is edited
// in the database.
func TestAuditLog(t *testing.T) {
	if testing.Short() {
		t.Skip("creates a real sandbox")
	}
	admin, cfg := runServer(t, nil)
	tm, keys := newTeam(t, admin, "audited", "owner", "developer", "viewer")
	dev, owner, viewer := keys["developer"], keys["owner"], keys["viewer"]
	killAll(t, dev)

	var sb sandboxJSON
	dev.want(201, "POST", "/sandboxes", map[string]any{"templateID": "base"}, &sb)
	wantMsg(t, viewer, 403, "DELETE", "/sandboxes/"+sb.SandboxID, nil, "sandboxes:use")
	dev.want(204, "DELETE", "/sandboxes/"+sb.SandboxID, nil, nil)
	wantMsg(t, dev, 404, "DELETE", "/sandboxes/"+sb.SandboxID, nil, "not found")
	stranger := admin
	stranger.key = "e2b_" + strings.Repeat("0", 40)
	wantMsg(t, stranger, 401, "POST", "/sandboxes", map[string]any{"templateID": "base"}, "unknown API key")
	dev.want(200, "GET", "/v2/sandboxes", nil, nil) // a read: not recorded

	var all []store.AuditEntry
	admin.want(200, "GET", "/audit", nil, &all)
	if len(find(all, "GET /v2/sandboxes")) != 0 {
		t.Errorf("a read was recorded")
	}
	create := find(all, "POST /sandboxes")
	if len(create) != 1 || create[0].Team != tm.TeamID || create[0].Status != 201 || create[0].Target != "/sandboxes" ||
		!strings.HasPrefix(create[0].Remote, "127.0.0.1:") || create[0].KeyPrefix == "" || create[0].Time.IsZero() {
		t.Errorf("create entries %+v", create)
	}
	kills := find(all, "DELETE /sandboxes/{id}")
	if len(kills) != 3 || kills[0].Status != 403 || !strings.Contains(kills[0].Message, "sandboxes:use") ||
		kills[1].Status != 204 || kills[1].Target != "/sandboxes/"+sb.SandboxID || kills[2].Status != 404 {
		t.Errorf("kill entries %+v: want the viewer's 403, the kill, the second kill's 404", kills)
	}
	fails := find(all, "POST authenticate")
	if len(fails) != 1 || fails[0].Status != 401 || fails[0].Team != "" || !strings.Contains(fails[0].Message, "unknown API key") {
		t.Errorf("auth failure entries %+v", fails)
	}
	if len(find(all, "POST /admin/teams")) != 1 || len(find(all, "POST /admin/teams/{teamID}/api-keys")) != 3 {
		t.Errorf("team and key creations not recorded: %+v", all)
	}

	// A team reads its own entries only; a viewer none.
	var own []store.AuditEntry
	owner.want(200, "GET", "/audit", nil, &own)
	for _, e := range own {
		if e.Team != tm.TeamID {
			t.Errorf("team owner read another team's entry %+v", e)
		}
	}
	// The create, the three kills, and the three keys a server admin made
	// for the team: its changes to a team are that team's record too.
	if len(own) != 7 || len(find(own, "POST /admin/teams/{teamID}/api-keys")) != 3 {
		t.Errorf("team owner read %d entries, want 7 with the admin's three key creates: %+v", len(own), own)
	}
	for _, e := range find(own, "POST /admin/teams/{teamID}/api-keys") {
		if e.KeyPrefix == "" || !strings.HasPrefix(admin.key, e.KeyPrefix) {
			t.Errorf("the admin's change names key %q, want the admin's", e.KeyPrefix)
		}
	}
	wantMsg(t, owner, 403, "GET", "/audit?team=default", nil, "server admins")
	wantMsg(t, viewer, 403, "GET", "/audit", nil, "audit:read")
	wantMsg(t, admin, 400, "GET", "/audit?since=yesterday", nil, "since")

	// JSON lines.
	req, _ := http.NewRequest("GET", admin.base+"/audit?format=jsonl&team="+tm.TeamID, nil)
	req.Header.Set("X-API-Key", admin.key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	lines := 0
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		var e store.AuditEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil || e.Team != tm.TeamID {
			t.Errorf("line %q: %v", sc.Text(), err)
		}
		lines++
	}
	resp.Body.Close()
	if lines != len(own) || resp.Header.Get("Content-Type") != "application/x-ndjson" {
		t.Errorf("%d JSON lines (%s), want %d", lines, resp.Header.Get("Content-Type"), len(own))
	}

	var v verifyJSON
	admin.want(200, "GET", "/audit/verify", nil, &v)
	if !v.OK || v.Entries < len(all) || v.Head == "" || v.HeadID < all[len(all)-1].ID {
		t.Fatalf("verify of an untouched log: %+v", v)
	}
	var again verifyJSON
	admin.want(200, "GET", fmt.Sprintf("/audit/verify?expectHead=%d:%s", v.HeadID, v.Head), nil, &again)
	if !again.OK {
		t.Errorf("verify against its own head: %+v", again)
	}
	admin.want(200, "GET", "/audit/verify?expectHead=1:"+strings.Repeat("0", 64), nil, &again)
	if again.OK || !strings.Contains(again.Problem, "not in the log") {
		t.Errorf("verify against a head never written: %+v", again)
	}
	wantMsg(t, owner, 403, "GET", "/audit/verify", nil, "server:admin")

	// Someone with the database rewrites the kill's outcome.
	db, err := sql.Open("sqlite", filepath.Join(cfg.DataDir, "soulbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(context.Background(), `UPDATE audit SET key_prefix = 'e2b_000000' WHERE id = ?`, kills[1].ID); err != nil {
		t.Fatal(err)
	}
	admin.want(200, "GET", "/audit/verify", nil, &v)
	if v.OK || v.BadID != kills[1].ID || !strings.Contains(v.Problem, "changed after it was written") {
		t.Errorf("verify after an edit: %+v, want entry %d named", v, kills[1].ID)
	}
}
