package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/agent/files"
)

// teamJSON is a team as /admin/teams shows it.
type teamJSON struct {
	TeamID string `json:"teamID"`
	Name   string `json:"name"`
}

// createdKeyJSON is E2B's CreatedTeamAPIKey.
type createdKeyJSON struct {
	ID     string   `json:"id"`
	Key    string   `json:"key"`
	Name   string   `json:"name"`
	TeamID string   `json:"teamID"`
	Role   string   `json:"role"`
	Scopes []string `json:"scopes"`
}

// newTeam makes a team through the admin API and returns it with a key
// of each role asked for (role -> client).
func newTeam(t *testing.T, admin apiClient, name string, roles ...string) (teamJSON, map[string]apiClient) {
	t.Helper()
	var tm teamJSON
	admin.want(201, "POST", "/admin/teams", map[string]any{"name": name}, &tm)
	keys := map[string]apiClient{}
	for _, role := range roles {
		keys[role] = teamKey(t, admin, tm.TeamID, role, nil)
	}
	return tm, keys
}

// teamKey makes a key of team with role and scopes through E2B's admin
// route.
func teamKey(t *testing.T, admin apiClient, team, role string, scopes []string) apiClient {
	t.Helper()
	var k createdKeyJSON
	admin.want(201, "POST", "/admin/teams/"+team+"/api-keys", map[string]any{"name": role, "role": role, "scopes": scopes}, &k)
	if k.TeamID != team || k.Role != role || !strings.HasPrefix(k.Key, "e2b_") {
		t.Fatalf("created key %+v", k)
	}
	c := admin
	c.key = k.Key
	return c
}

// TestTeamIsolation: a team reaches none of another team's objects
// through any route. Every route that names a sandbox, template, build
// or key of team A answers team B 404, as for an object that does not
// exist; lists leave A's objects out; sandbox traffic and signed links
// need A's tokens, which B cannot read.
func TestTeamIsolation(t *testing.T) {
	if testing.Short() {
		t.Skip("creates real sandboxes")
	}
	admin, _ := runServer(t, nil)
	tmA, a := newTeam(t, admin, "alpha", "owner")
	_, b := newTeam(t, admin, "beta", "owner")
	ca, cb := a["owner"], b["owner"]
	var memberA memberJSON
	ca.want(201, "POST", "/teams/"+tmA.TeamID+"/members", map[string]any{"email": "alpha-member@example.com", "role": "owner"}, &memberA)
	killAll(t, ca, cb)

	var sbA, sbB sandboxJSON
	ca.want(201, "POST", "/sandboxes", map[string]any{"templateID": "base", "metadata": map[string]string{"who": "alpha"}}, &sbA)
	cb.want(201, "POST", "/sandboxes", map[string]any{"templateID": "base"}, &sbB)
	var tplA struct {
		TemplateID string `json:"templateID"`
		BuildID    string `json:"buildID"`
	}
	ca.want(202, "POST", "/v3/templates", map[string]any{"name": "alpha-tpl", "cpuCount": 1, "memoryMB": 512}, &tplA)
	var keysA []struct {
		ID string `json:"id"`
	}
	ca.want(200, "GET", "/api-keys", nil, &keysA)
	if len(keysA) != 1 {
		t.Fatalf("team A's keys: %+v", keysA)
	}

	var secA struct {
		ID string `json:"id"`
	}
	ca.want(201, "POST", "/secrets", map[string]any{"label": "alpha-secret", "value": "alpha-value"}, &secA)
	var tokA tokenJSON
	ca.want(201, "POST", "/access-tokens", map[string]any{"name": "alpha-token"}, &tokA)

	id, tpl, build, key, sec := sbA.SandboxID, tplA.TemplateID, tplA.BuildID, keysA[0].ID, secA.ID
	for _, tc := range []struct {
		method, path string
		body         any
	}{
		{"GET", "/sandboxes/" + id, nil},
		{"DELETE", "/sandboxes/" + id, nil},
		{"POST", "/sandboxes/" + id + "/timeout", map[string]any{"timeout": 60}},
		{"PUT", "/sandboxes/" + id + "/network", map[string]any{"allowOut": []string{"10.0.0.1"}}},
		{"POST", "/sandboxes/" + id + "/pause", nil},
		{"POST", "/sandboxes/" + id + "/processes/kill", map[string]any{}},
		{"POST", "/sandboxes/" + id + "/connect", map[string]any{"timeout": 60}},
		{"POST", "/v2/sandboxes/" + id + "/connect", map[string]any{"timeout": 60}},
		{"POST", "/sandboxes/" + id + "/resume", map[string]any{"timeout": 60}},
		{"POST", "/sandboxes/" + id + "/refreshes", map[string]any{"duration": 60}},
		{"GET", "/sandboxes/" + id + "/metrics", nil},
		{"GET", "/sandboxes/" + id + "/logs", nil},
		{"POST", "/sandboxes/" + id + "/snapshots", map[string]any{"name": "stolen"}},
		{"POST", "/sandboxes/" + id + "/fork", map[string]any{"count": 1}},
		{"GET", "/templates/" + tpl, nil},
		{"DELETE", "/templates/" + tpl, nil},
		{"PATCH", "/templates/" + tpl, map[string]any{"public": true}},
		{"PATCH", "/v2/templates/" + tpl, map[string]any{"public": true}},
		{"GET", "/templates/" + tpl + "/builds/" + build + "/status", nil},
		{"GET", "/templates/" + tpl + "/builds/" + build + "/logs", nil},
		{"POST", "/v2/templates/" + tpl + "/builds/" + build, map[string]any{"fromTemplate": "base"}},
		{"GET", "/templates/" + tpl + "/files/" + strings.Repeat("a", 64), nil},
		{"GET", "/templates/" + tpl + "/tags", nil},
		{"GET", "/templates/" + tpl + "/pool", nil},
		{"PUT", "/templates/" + tpl + "/pool", map[string]any{"min": 1, "max": 1}},
		{"DELETE", "/templates/" + tpl + "/pool", nil},
		{"PATCH", "/api-keys/" + key, map[string]any{"name": "stolen"}},
		{"DELETE", "/api-keys/" + key, nil},
		{"GET", "/secrets/" + sec, nil},
		{"PATCH", "/secrets/" + sec, map[string]any{"label": "stolen"}},
		{"DELETE", "/secrets/" + sec, nil},
		{"DELETE", "/access-tokens/" + tokA.ID, nil},
		{"GET", "/teams/" + tmA.TeamID + "/members", nil},
		{"POST", "/teams/" + tmA.TeamID + "/members", map[string]any{"email": "mallory@example.com", "role": "owner"}},
		{"PATCH", "/teams/" + tmA.TeamID + "/members/" + memberA.ID, map[string]any{"role": "viewer"}},
		{"DELETE", "/teams/" + tmA.TeamID + "/members/" + memberA.ID, nil},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			code, body, _ := cb.do(tc.method, tc.path, tc.body)
			if code != http.StatusNotFound {
				t.Errorf("team B: %d %s, want 404", code, body)
			}
			if strings.Contains(string(body), "alpha") {
				t.Errorf("team B read team A's data: %s", body)
			}
		})
	}

	// Nothing changed: A's sandbox runs with its end, its key works with
	// its name, its template is private.
	var got struct {
		State string `json:"state"`
	}
	ca.want(200, "GET", "/sandboxes/"+id, nil, &got)
	if got.State != "running" {
		t.Errorf("team A's sandbox is %s after team B's attempts", got.State)
	}
	var keysAfter []struct {
		ID, Name string
	}
	ca.want(200, "GET", "/api-keys", nil, &keysAfter)
	if len(keysAfter) != 1 || keysAfter[0].Name != "owner" {
		t.Errorf("team A's keys after team B's attempts: %+v", keysAfter)
	}
	var secAfter struct{ Label string }
	ca.want(200, "GET", "/secrets/"+sec, nil, &secAfter)
	if secAfter.Label != "alpha-secret" {
		t.Errorf("team A's secret after team B's attempts: %+v", secAfter)
	}
	if code, b := withBearer(t, ca.base, tokA.Token, "GET", "/v2/sandboxes", nil); code != 200 {
		t.Errorf("team A's access token after team B's attempt to revoke it: %d %s", code, b)
	}
	var membersAfter []memberJSON
	ca.want(200, "GET", "/teams/"+tmA.TeamID+"/members", nil, &membersAfter)
	if len(membersAfter) != 1 || membersAfter[0].Role != "owner" {
		t.Errorf("team A's members after team B's attempts: %+v", membersAfter)
	}

	// Lists leave A's objects out.
	for _, path := range []string{"/sandboxes", "/v2/sandboxes", "/v2/sandboxes?state=running,paused", "/sandboxes/metrics?sandbox_ids=" + id, "/templates", "/api-keys", "/secrets"} {
		_, body, _ := cb.do("GET", path, nil)
		for _, secret := range []string{id, tpl, key, sec, "alpha"} {
			if strings.Contains(string(body), secret) {
				t.Errorf("GET %s as team B shows team A's %s: %s", path, secret, body)
			}
		}
	}
	var teams []struct {
		TeamID string `json:"teamID"`
	}
	cb.want(200, "GET", "/teams", nil, &teams)
	if len(teams) != 1 || teams[0].TeamID == "" || strings.Contains(mustJSON(t, teams), "alpha") {
		t.Errorf("GET /teams as team B: %+v", teams)
	}

	// Sandbox traffic: the agent of A's sandbox takes neither no token
	// nor B's token; a link B signs opens B's sandbox, never A's.
	tokB := *sbB.EnvdAccessToken
	for _, tc := range []struct {
		name   string
		header []string
	}{
		{"no token", nil},
		{"team B's token", []string{"X-Access-Token", tokB}},
	} {
		code, body := proxiedDo(t, cb, "GET", "/files?path=/etc/hostname", "", id, "49983", tc.header...)
		if code != http.StatusUnauthorized || strings.Contains(body, id) {
			t.Errorf("envd of A's sandbox with %s: %d %s, want 401", tc.name, code, body)
		}
	}
	exp := time.Now().Add(time.Minute).Unix()
	q := url.Values{"path": {"/etc/hostname"}, "username": {"user"}, "signature_expiration": {itoa(int(exp))},
		"signature": {files.Signature("/etc/hostname", "read", "user", tokB, &exp)}}
	code, body := proxiedDo(t, cb, "GET", "/files?"+q.Encode(), "", id, "49983")
	if code != http.StatusUnauthorized {
		t.Errorf("link signed by B, sent to A's sandbox: %d %s, want 401", code, body)
	}
	// The same link without a sandbox named opens B's own sandbox.
	req, _ := http.NewRequest("GET", cb.base+"/files?"+q.Encode(), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	hostname, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || strings.Contains(string(hostname), id) {
		t.Errorf("link signed by B: %d %s, want B's own file", resp.StatusCode, hostname)
	}
}

// killAll kills, when the test ends and before the server stops, what
// the teams of these clients left running.
func killAll(t *testing.T, clients ...apiClient) {
	t.Cleanup(func() {
		for _, c := range clients {
			var list []map[string]any
			if code, b, _ := c.do("GET", "/v2/sandboxes?state=running,paused", nil); code == 200 {
				_ = json.Unmarshal(b, &list)
			}
			for _, sb := range list {
				c.do("DELETE", "/sandboxes/"+sb["sandboxID"].(string), nil)
			}
		}
	})
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// rolePermissions is the role table as users read it in the README,
// written out apart from the code that enforces it.
var rolePermissions = map[string][]string{
	"viewer":    {"sandboxes:read", "templates:read"},
	"developer": {"sandboxes:read", "templates:read", "sandboxes:create", "sandboxes:use", "templates:build", "secrets:read"},
	"admin":     {"sandboxes:read", "templates:read", "sandboxes:create", "sandboxes:use", "templates:build", "keys:manage", "audit:read", "secrets:read", "secrets:manage", "members:manage"},
	"owner":     {"sandboxes:read", "templates:read", "sandboxes:create", "sandboxes:use", "templates:build", "keys:manage", "audit:read", "secrets:read", "secrets:manage", "members:manage"},
}

// routePermissions names the permission of every API route, as the
// README documents it. A route added to the server without a line here
// fails TestRouteRoleTable (the route list is read from /openapi.json
// and the route tables together).
var routePermissions = map[string]string{
	"POST /sandboxes":                                  "sandboxes:create",
	"POST /v2/sandboxes":                               "sandboxes:create",
	"GET /sandboxes":                                   "sandboxes:read",
	"GET /v2/sandboxes":                                "sandboxes:read",
	"GET /sandboxes/metrics":                           "sandboxes:read",
	"GET /sandboxes/{id}":                              "sandboxes:read",
	"DELETE /sandboxes/{id}":                           "sandboxes:use",
	"POST /sandboxes/{id}/timeout":                     "sandboxes:use",
	"PUT /sandboxes/{id}/network":                      "sandboxes:use",
	"POST /sandboxes/{id}/pause":                       "sandboxes:use",
	"POST /sandboxes/{id}/processes/kill":              "sandboxes:use",
	"POST /sandboxes/{id}/connect":                     "sandboxes:use",
	"POST /v2/sandboxes/{id}/connect":                  "sandboxes:use",
	"POST /sandboxes/{id}/resume":                      "sandboxes:use",
	"POST /sandboxes/{id}/refreshes":                   "sandboxes:use",
	"GET /sandboxes/{id}/metrics":                      "sandboxes:read",
	"GET /sandboxes/{id}/logs":                         "sandboxes:read",
	"GET /events":                                      "sandboxes:read",
	"GET /teams/{teamID}/metrics":                      "sandboxes:read",
	"GET /teams/{teamID}/metrics/max":                  "sandboxes:read",
	"GET /nodes":                                       "server:admin",
	"GET /nodes/{nodeID}":                              "server:admin",
	"POST /nodes/{nodeID}":                             "server:admin",
	"DELETE /nodes/{nodeID}":                           "server:admin",
	"POST /admin/node-tokens":                          "server:admin",
	"GET /admin/node-tokens":                           "server:admin",
	"DELETE /admin/node-tokens/{tokenID}":              "server:admin",
	"POST /sandboxes/{id}/snapshots":                   "sandboxes:use",
	"GET /snapshots":                                   "sandboxes:read",
	"POST /sandboxes/{id}/fork":                        "sandboxes:create",
	"POST /v3/templates":                               "templates:build",
	"GET /templates/{id}/files/{hash}":                 "templates:build",
	"POST /v2/templates/{id}/builds/{buildID}":         "templates:build",
	"GET /templates/{id}/builds/{buildID}/status":      "templates:read",
	"GET /templates/{id}/builds/{buildID}/logs":        "templates:read",
	"GET /templates":                                   "templates:read",
	"GET /templates/{id}":                              "templates:read",
	"DELETE /templates/{id}":                           "templates:build",
	"PATCH /templates/{id}":                            "templates:build",
	"PATCH /v2/templates/{id}":                         "templates:build",
	"POST /templates/tags":                             "templates:build",
	"DELETE /templates/tags":                           "templates:build",
	"GET /templates/{id}/tags":                         "templates:read",
	"GET /templates/aliases/{alias}":                   "templates:read",
	"GET /templates/{id}/pool":                         "templates:read",
	"PUT /templates/{id}/pool":                         "templates:build",
	"DELETE /templates/{id}/pool":                      "templates:build",
	"GET /teams":                                       "",
	"GET /api-keys":                                    "keys:manage",
	"POST /api-keys":                                   "keys:manage",
	"PATCH /api-keys/{apiKeyID}":                       "keys:manage",
	"DELETE /api-keys/{apiKeyID}":                      "keys:manage",
	"POST /admin/teams":                                "server:admin",
	"GET /admin/teams":                                 "server:admin",
	"PATCH /admin/teams/{teamID}":                      "server:admin",
	"DELETE /admin/teams/{teamID}":                     "server:admin",
	"POST /admin/teams/{teamID}/api-keys":              "server:admin",
	"DELETE /admin/teams/{teamID}/api-keys/{apiKeyID}": "server:admin",
	"POST /admin/teams/{teamID}/sandboxes/kill":        "server:admin",
	"GET /admin/teams/{teamID}/quota":                  "server:admin",
	"PUT /admin/teams/{teamID}/quota":                  "server:admin",
	"GET /admin/sandboxes/running-counts":              "server:admin",
	"GET /quota":                                       "sandboxes:read",
	"POST /access-tokens":                              "",
	"DELETE /access-tokens/{accessTokenID}":            "",
	"GET /secrets":                                     "secrets:read",
	"POST /secrets":                                    "secrets:manage",
	"GET /secrets/{secretID}":                          "secrets:read",
	"PATCH /secrets/{secretID}":                        "secrets:manage",
	"DELETE /secrets/{secretID}":                       "secrets:manage",
	"GET /audit":                                       "audit:read",
	"GET /audit/verify":                                "server:admin",
	"GET /teams/{teamID}/members":                      "members:manage",
	"POST /teams/{teamID}/members":                     "members:manage",
	"PATCH /teams/{teamID}/members/{userID}":           "members:manage",
	"DELETE /teams/{teamID}/members/{userID}":          "members:manage",
	"GET /auth/oidc":                                   "",
	"POST /auth/oidc/token":                            "",
}

// TestRouteRoleTable sends every route with a key of every role (and of
// scoped keys) and checks who is refused with 403. Each request names
// objects that do not exist or carries a body the route refuses, so an
// allowed key gets 4xx other than 403 and nothing is created.
func TestRouteRoleTable(t *testing.T) {
	admin, _ := runServer(t, nil)
	tm, keys := newTeam(t, admin, "alpha", "owner", "admin", "developer", "viewer")
	keys["owner with scopes sandboxes:create sandboxes:use"] = teamKey(t, admin, tm.TeamID, "owner", []string{"sandboxes:create", "sandboxes:use"})
	keys["owner with scope read-only"] = teamKey(t, admin, tm.TeamID, "owner", []string{"read-only"})
	keys["developer of the admin team"] = teamKey(t, admin, "default", "developer", nil)
	keys["server admin"] = admin
	granted := map[string][]string{
		"owner with scopes sandboxes:create sandboxes:use": {"sandboxes:create", "sandboxes:use"},
		"owner with scope read-only":                       {"sandboxes:read", "templates:read"},
		"developer of the admin team":                      rolePermissions["developer"],
		"server admin":                                     append(rolePermissions["owner"], "server:admin"),
	}
	for role, perms := range rolePermissions {
		granted[role] = perms
	}

	// Every route the server documents has a line in routePermissions.
	var spec struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	admin.want(200, "GET", "/openapi.json", nil, &spec)
	for path, ops := range spec.Paths {
		for method := range ops {
			route := strings.ToUpper(method) + " " + path
			if _, ok := routePermissions[route]; !ok && needsKey(path) {
				t.Errorf("route %s is documented but has no line in routePermissions", route)
			}
		}
	}

	param := regexp.MustCompile(`\{[^}]+\}`)
	body := map[string]any{"templateID": "no-such-template", "timeout": -1, "name": ""}
	for who, c := range keys {
		for route, perm := range routePermissions {
			method, pattern, _ := strings.Cut(route, " ")
			path := param.ReplaceAllString(pattern, "nonexistent")
			if strings.HasPrefix(pattern, "/teams/{teamID}/") {
				// Another team's metrics are refused with 403 (E2B's
				// answer), so a team's routes name the key's own team.
				own := tm.TeamID
				if who == "developer of the admin team" || who == "server admin" {
					own = "default"
				}
				path = strings.Replace(path, "nonexistent", own, 1)
			}
			var b any
			if method != "GET" && method != "DELETE" {
				b = body
			}
			code := statusOf(t, c, method, path, b)
			want := perm == "" || contains(granted[who], perm)
			// A read may succeed; a change must find nothing to act on.
			if want && (code == http.StatusForbidden || code == http.StatusUnauthorized || code >= 500 || (method != "GET" && code < 400)) {
				t.Errorf("%s: %s = %d, want no 401, 403 or 5xx (allowed, but nothing to act on)", who, route, code)
			}
			if !want && code != http.StatusForbidden {
				t.Errorf("%s: %s = %d, want 403", who, route, code)
			}
		}
	}
}

// needsKey reports whether an API path needs a key (and so a permission).
func needsKey(path string) bool {
	switch path {
	case "/health", "/ready", "/metrics", "/openapi.json":
		return false
	}
	return !strings.HasPrefix(path, "/template-uploads/")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// statusOf sends a request and returns its status without reading a
// streaming body.
func statusOf(t *testing.T, c apiClient, method, path string, body any) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = strings.NewReader(string(b))
	}
	req, _ := http.NewRequestWithContext(ctx, method, c.base+path, r)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-API-Key", c.key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
