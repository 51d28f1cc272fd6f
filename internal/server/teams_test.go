package server_test

import (
	"database/sql"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// wantMsg checks a request's status and that its message says msg.
func wantMsg(t *testing.T, c apiClient, status int, method, path string, body any, msg string) {
	t.Helper()
	code, b, _ := c.do(method, path, body)
	if code != status || !strings.Contains(string(b), msg) {
		t.Errorf("%s %s = %d %s, want %d saying %q", method, path, code, b, status, msg)
	}
}

// TestManageTeams follows a team's life through the admin and key
// routes: created, renamed, given keys by its owner, refused deletion
// while it has a live sandbox, deleted, and its keys then refused.
func TestManageTeams(t *testing.T) {
	if testing.Short() {
		t.Skip("creates a real sandbox")
	}
	admin, _ := runServer(t, nil)

	var tm teamJSON
	admin.want(201, "POST", "/admin/teams", map[string]any{"name": "gamma"}, &tm)
	if !strings.HasPrefix(tm.TeamID, "team_") || tm.Name != "gamma" {
		t.Fatalf("new team %+v", tm)
	}
	admin.want(200, "PATCH", "/admin/teams/"+tm.TeamID, map[string]any{"name": "gamma 2"}, &tm)
	var teams []teamJSON
	admin.want(200, "GET", "/admin/teams", nil, &teams)
	if len(teams) != 2 || teams[1].Name != "gamma 2" || teams[0].TeamID != "default" {
		t.Errorf("teams %+v, want the built-in team and gamma 2", teams)
	}
	// Bad input changes nothing and says what to fix.
	wantMsg(t, admin, 400, "POST", "/admin/teams", map[string]any{"name": ""}, "team name")
	wantMsg(t, admin, 400, "POST", "/admin/teams", map[string]any{"name": strings.Repeat("x", 65)}, "team name")
	wantMsg(t, admin, 400, "POST", "/admin/teams", map[string]any{"name": "x", "quota": 1}, "unknown field")
	wantMsg(t, admin, 404, "PATCH", "/admin/teams/team_nope", map[string]any{"name": "x"}, "not found")
	wantMsg(t, admin, 409, "DELETE", "/admin/teams/default", nil, "built-in")
	wantMsg(t, admin, 404, "POST", "/admin/teams/team_nope/api-keys", map[string]any{"name": "k"}, "not found")
	wantMsg(t, admin, 400, "POST", "/admin/teams/"+tm.TeamID+"/api-keys", map[string]any{"name": "k", "role": "root"}, `role \"root\"`)
	wantMsg(t, admin, 400, "POST", "/admin/teams/"+tm.TeamID+"/api-keys", map[string]any{"name": "k", "scopes": []string{"everything"}}, `scope \"everything\"`)
	admin.want(200, "GET", "/admin/teams", nil, &teams)
	if len(teams) != 2 {
		t.Errorf("bad input made teams: %+v", teams)
	}

	// The first key of a team is its owner's; the owner makes the rest.
	var first createdKeyJSON
	admin.want(201, "POST", "/admin/teams/"+tm.TeamID+"/api-keys", map[string]any{"name": "first"}, &first)
	if first.Role != "owner" {
		t.Errorf("first key's role %q, want owner", first.Role)
	}
	owner := admin
	owner.key = first.Key
	wantMsg(t, owner, 403, "POST", "/admin/teams", map[string]any{"name": "mine"}, "server:admin")
	var dev createdKeyJSON
	owner.want(201, "POST", "/api-keys", map[string]any{"name": "ci"}, &dev)
	if dev.Role != "developer" || len(dev.Key) != 44 {
		t.Errorf("new key %+v, want a developer key shown once", dev)
	}
	var listed []map[string]any
	owner.want(200, "GET", "/api-keys", nil, &listed)
	if len(listed) != 2 || strings.Contains(mustJSON(t, listed), dev.Key) || strings.Contains(mustJSON(t, listed), first.Key) {
		t.Errorf("keys listed %v: want two, without the keys themselves", listed)
	}
	owner.want(200, "PATCH", "/api-keys/"+dev.ID, map[string]any{"name": "ci-2"}, nil)
	owner.want(200, "GET", "/api-keys", nil, &listed)
	if listed[1]["name"] != "ci-2" {
		t.Errorf("after rename: %v", listed)
	}
	// Nobody hands out more than they have.
	var adm createdKeyJSON
	owner.want(201, "POST", "/api-keys", map[string]any{"name": "adm", "role": "admin"}, &adm)
	teamAdmin := admin
	teamAdmin.key = adm.Key
	wantMsg(t, teamAdmin, 403, "POST", "/api-keys", map[string]any{"name": "x", "role": "owner"}, "outranks")
	devc := admin
	devc.key = dev.Key
	wantMsg(t, devc, 403, "GET", "/api-keys", nil, "keys:manage")

	// A viewer reads a sandbox but does not get its envd token.
	var viewer createdKeyJSON
	owner.want(201, "POST", "/api-keys", map[string]any{"name": "ro", "role": "viewer"}, &viewer)
	viewc := admin
	viewc.key = viewer.Key
	var sb sandboxJSON
	devc.want(201, "POST", "/sandboxes", map[string]any{"templateID": "base"}, &sb)
	killAll(t, devc)
	var detail map[string]any
	viewc.want(200, "GET", "/sandboxes/"+sb.SandboxID, nil, &detail)
	if _, ok := detail["envdAccessToken"]; ok {
		t.Errorf("a viewer got the envd token: %v", detail)
	}
	devc.want(200, "GET", "/sandboxes/"+sb.SandboxID, nil, &detail)
	if detail["envdAccessToken"] != *sb.EnvdAccessToken {
		t.Errorf("a developer did not get the envd token: %v", detail)
	}
	wantMsg(t, viewc, 403, "DELETE", "/sandboxes/"+sb.SandboxID, nil, "sandboxes:use")

	// A deleted key stops working at once.
	owner.want(204, "DELETE", "/api-keys/"+viewer.ID, nil, nil)
	wantMsg(t, viewc, 401, "GET", "/v2/sandboxes", nil, "was revoked")
	wantMsg(t, owner, 404, "DELETE", "/api-keys/"+viewer.ID, nil, "not found")

	// A team with a live sandbox is not deleted; once it is killed, the
	// team goes and its keys stop working.
	wantMsg(t, admin, 409, "DELETE", "/admin/teams/"+tm.TeamID, nil, sb.SandboxID)
	wantMsg(t, admin, 404, "POST", "/admin/teams/team_nope/sandboxes/kill", nil, "not found")
	var killed struct{ KilledCount, FailedCount int }
	admin.want(200, "POST", "/admin/teams/"+tm.TeamID+"/sandboxes/kill", nil, &killed)
	if killed.KilledCount != 1 || killed.FailedCount != 0 {
		t.Errorf("admin kill: %+v, want one killed", killed)
	}
	var left []listedJSON
	devc.want(200, "GET", "/v2/sandboxes", nil, &left)
	if len(left) != 0 {
		t.Errorf("after the admin kill the team lists %+v", left)
	}
	admin.want(204, "DELETE", "/admin/teams/"+tm.TeamID, nil, nil)
	for _, c := range []apiClient{owner, devc, teamAdmin} {
		wantMsg(t, c, 401, "GET", "/v2/sandboxes", nil, "which was deleted")
	}
	admin.want(200, "GET", "/admin/teams", nil, &teams)
	if len(teams) != 1 {
		t.Errorf("teams after delete: %+v", teams)
	}
	wantMsg(t, admin, 404, "DELETE", "/admin/teams/"+tm.TeamID, nil, "not found")
}

// TestBadCredentials: malformed, unknown and oversized keys are refused
// with 401 and a message saying what is wrong, and change nothing.
func TestBadCredentials(t *testing.T) {
	admin, _ := runServer(t, nil)
	for _, tc := range []struct {
		name, header, value, msg string
	}{
		{"missing", "", "", "missing API key"},
		{"malformed", "X-API-Key", "e2b_nothex", "malformed API key"},
		{"unknown", "X-API-Key", "e2b_" + strings.Repeat("0", 40), "unknown API key"},
		{"oversized", "X-API-Key", "e2b_" + strings.Repeat("a", 64<<10), "malformed API key"},
		{"alg none", "Authorization", "Bearer eyJhbGciOiJub25lIn0.eyJpc3MiOiJzb3VsYm94In0.", `algorithm \"none\"`},
		{"not a token", "Authorization", "Bearer a.b.c", "malformed access token"},
		{"oversized bearer", "Authorization", "Bearer " + strings.Repeat("a", 64<<10), "malformed API key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", admin.base+"/admin/teams", strings.NewReader(`{"name":"sneaky"}`))
			if tc.header != "" {
				req.Header.Set(tc.header, tc.value)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			_, _ = readBody(&b, resp)
			if resp.StatusCode != 401 || !strings.Contains(b.String(), tc.msg) {
				t.Errorf("%d %s, want 401 saying %q", resp.StatusCode, b.String(), tc.msg)
			}
		})
	}
	var teams []teamJSON
	admin.want(200, "GET", "/admin/teams", nil, &teams)
	if len(teams) != 1 {
		t.Errorf("refused requests made teams: %+v", teams)
	}
	// The first refusal from this address is in the audit log; the
	// others of the window are counted, to be recorded as one entry when
	// it ends.
	var entries []map[string]any
	admin.want(200, "GET", "/audit", nil, &entries)
	refused := 0
	for _, e := range entries {
		if e["action"] == "POST authenticate" && e["status"] == float64(401) {
			refused++
		}
	}
	if refused != 1 {
		t.Errorf("%d refusals in the audit log, want 1: %v", refused, entries)
	}
}

// TestRefusalFlood: a client sending bad credentials is answered 429
// before its credential is checked once it has used up its refusals for
// the window, adds one audit entry however many it sends, and cannot
// make an entry longer than a few hundred bytes with a long path; a
// header past the server's bound is refused outright.
func TestRefusalFlood(t *testing.T) {
	admin, cfg := runServer(t, nil)
	bad := admin
	bad.key = "e2b_" + strings.Repeat("0", 40)
	long := "/sandboxes/" + strings.Repeat("p", 40<<10)
	for i := 0; i < 30; i++ {
		wantMsg(t, bad, 401, "GET", long, nil, "unknown API key")
	}
	code, b, h := bad.do("GET", "/v2/sandboxes", nil)
	if code != 429 || h.Get("Retry-After") == "" || !strings.Contains(string(b), "too many refused credentials") {
		t.Errorf("31st refusal: %d %s %v, want 429 with Retry-After", code, b, h)
	}
	// Read on the host: this address is gated for the API now.
	db, err := sql.Open("sqlite", filepath.Join(cfg.DataDir, "soulbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n, longest int
	if err := db.QueryRow(`SELECT COUNT(*), COALESCE(MAX(LENGTH(target) + LENGTH(message)), 0) FROM audit WHERE action LIKE '%authenticate'`).Scan(&n, &longest); err != nil {
		t.Fatal(err)
	}
	if n != 1 || longest > 2*512 {
		t.Errorf("%d refusal entries, the longest %d bytes: want 1 of at most 1024", n, longest)
	}
	req, _ := http.NewRequest("GET", admin.base+"/audit", nil)
	req.Header.Set("X-API-Key", admin.key)
	// The admin comes from the same address: gated too, as documented.
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 {
		t.Errorf("a good key from a gated address: %d, want 429", resp.StatusCode)
	}

	req, _ = http.NewRequest("GET", admin.base+"/v2/sandboxes", nil)
	req.Header.Set("X-API-Key", admin.key)
	req.Header.Set("X-Padding", strings.Repeat("h", 80<<10))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("an 80 KiB header: %d, want 431", resp.StatusCode)
	}
}

func readBody(w *strings.Builder, resp *http.Response) (int64, error) {
	defer resp.Body.Close()
	return io.Copy(w, resp.Body)
}
