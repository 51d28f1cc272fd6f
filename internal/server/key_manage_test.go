package server_test

import (
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
)

// TestTokenMakesNoKeys: an access token, short-lived by design, cannot
// buy permanent access: it creates no key on either key route and
// deletes no team; the key it came from still can.
func TestTokenMakesNoKeys(t *testing.T) {
	admin, _ := runServer(t, nil)
	tm, keys := newTeam(t, admin, "tokens", "owner")
	owner := keys["owner"]

	var ot, at tokenJSON
	owner.want(201, "POST", "/access-tokens", map[string]any{}, &ot)
	admin.want(201, "POST", "/access-tokens", map[string]any{}, &at)
	for _, tc := range []struct {
		token, method, path string
		body                any
	}{
		{ot.Token, "POST", "/api-keys", map[string]any{"name": "forever", "role": "owner"}},
		{at.Token, "POST", "/admin/teams/" + tm.TeamID + "/api-keys", map[string]any{"name": "forever"}},
		{at.Token, "DELETE", "/admin/teams/" + tm.TeamID, nil},
	} {
		code, b := withBearer(t, admin.base, tc.token, tc.method, tc.path, tc.body)
		if code != 403 || !strings.Contains(string(b), "an access token cannot") {
			t.Errorf("%s %s with a token = %d %s, want 403", tc.method, tc.path, code, b)
		}
	}
	var listed []map[string]any
	owner.want(200, "GET", "/api-keys", nil, &listed)
	if len(listed) != 1 {
		t.Errorf("tokens made keys: %v", listed)
	}
	// The keys themselves still can.
	owner.want(201, "POST", "/api-keys", map[string]any{"name": "second"}, nil)
	admin.want(201, "POST", "/admin/teams/"+tm.TeamID+"/api-keys", map[string]any{"name": "third"}, nil)
	admin.want(204, "DELETE", "/admin/teams/"+tm.TeamID, nil, nil)
}

// TestKeyManageRanks: a key revokes or renames only keys it could have
// issued: an admin not an owner's, a scoped key not one with more scopes.
func TestKeyManageRanks(t *testing.T) {
	admin, _ := runServer(t, nil)
	tm, _ := newTeam(t, admin, "ranks")
	mk := func(role string, scopes []string) (apiClient, string) {
		t.Helper()
		var k createdKeyJSON
		admin.want(201, "POST", "/admin/teams/"+tm.TeamID+"/api-keys", map[string]any{"name": role, "role": role, "scopes": scopes}, &k)
		c := admin
		c.key = k.Key
		return c, k.ID
	}
	owner, ownerID := mk("owner", nil)
	adm, admID := mk("admin", nil)
	scoped, _ := mk("admin", []string{"keys:manage"})
	_, devID := mk("developer", nil)
	_, devScopedID := mk("developer", []string{"keys:manage"})

	wantMsg(t, adm, 403, "DELETE", "/api-keys/"+ownerID, nil, "outranks")
	wantMsg(t, adm, 403, "PATCH", "/api-keys/"+ownerID, map[string]any{"name": "pwned"}, "outranks")
	wantMsg(t, scoped, 403, "DELETE", "/api-keys/"+devID, nil, "no scope limit")
	wantMsg(t, scoped, 403, "PATCH", "/api-keys/"+admID, map[string]any{"name": "x"}, "no scope limit")
	// The owner's key is untouched and works.
	var listed []struct{ ID, Name string }
	owner.want(200, "GET", "/api-keys", nil, &listed)
	for _, k := range listed {
		if k.ID == ownerID && k.Name != "owner" {
			t.Errorf("owner key renamed to %q", k.Name)
		}
	}
	// What they may do, they still do.
	scoped.want(200, "PATCH", "/api-keys/"+devScopedID, map[string]any{"name": "ci"}, nil)
	scoped.want(204, "DELETE", "/api-keys/"+devScopedID, nil, nil)
	adm.want(204, "DELETE", "/api-keys/"+devID, nil, nil)
	owner.want(204, "DELETE", "/api-keys/"+admID, nil, nil)
}

// TestServerAdminIsOneRule: a key the role table makes a server admin
// (an admin of the built-in team, made through the API) reads the nodes
// as the setup key does; a scoped key of that team without server:admin
// does not.
func TestServerAdminIsOneRule(t *testing.T) {
	admin, _ := runServer(t, nil)
	second := teamKey(t, admin, "default", "admin", nil)
	second.want(200, "GET", "/nodes", nil, nil)
	scoped := teamKey(t, admin, "default", "admin", []string{"sandboxes:read"})
	wantMsg(t, scoped, 403, "GET", "/nodes", nil, "server:admin")
}

// TestDeletedTeamPoolsCleared: deleting a team clears its templates'
// warm pool bounds, so nothing is kept warm for it, after a restart
// either; another team's pool stays.
func TestDeletedTeamPoolsCleared(t *testing.T) {
	admin, cfg := runServer(t, nil)
	tm, _ := newTeam(t, admin, "pooled")
	other, _ := newTeam(t, admin, "other")
	db, err := sql.Open("sqlite", filepath.Join(cfg.DataDir, "soulbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for id, team := range map[string]string{"tpl_gone": tm.TeamID, "tpl_kept": other.TeamID} {
		if _, err := db.Exec(`INSERT INTO templates (id, team, cpu_count, memory_mb, created_at, updated_at, pool) VALUES (?, ?, 1, 256, 0, 0, '{"min":0,"max":1}')`, id, team); err != nil {
			t.Fatal(err)
		}
	}
	admin.want(204, "DELETE", "/admin/teams/"+tm.TeamID, nil, nil)
	for id, want := range map[string]bool{"tpl_gone": false, "tpl_kept": true} {
		var pool sql.NullString
		if err := db.QueryRow(`SELECT pool FROM templates WHERE id = ?`, id).Scan(&pool); err != nil {
			t.Fatal(err)
		}
		if pool.Valid != want {
			t.Errorf("template %s: pool %v, want set %v", id, pool, want)
		}
	}
}
