package server_test

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/soulbox/soulbox/internal/secrets"
)

type secretJSON struct {
	ID          string   `json:"id"`
	Label       string   `json:"label"`
	Description string   `json:"description"`
	Allowlist   []string `json:"allowlist"`
}

// TestSecrets follows a team secret through E2B's /secrets routes: made
// by an owner, listed by a developer, never shown, sealed in the
// database, relabelled and given a new value, deleted; bad input changes
// nothing and says what to fix; each change is in the audit log, which
// never holds the value.
func TestSecrets(t *testing.T) {
	admin, cfg := runServer(t, nil)
	_, keys := newTeam(t, admin, "alpha", "owner", "developer", "viewer")
	_, others := newTeam(t, admin, "beta", "owner")
	owner, dev, viewer, other := keys["owner"], keys["developer"], keys["viewer"], others["owner"]
	const value = "sk-live-4f1c2b9e-very-secret"

	var sec secretJSON
	code, b, _ := owner.do("POST", "/secrets", map[string]any{"label": "OPENAI_KEY", "value": value, "description": "the API key",
		"allowlist": []string{"api.openai.com", "*.openai.com"}})
	if code != 201 || strings.Contains(string(b), value) {
		t.Fatalf("create = %d %s, want 201 without the value", code, b)
	}
	owner.want(200, "GET", "/secrets/"+idOf(t, b), nil, &sec)
	if sec.Label != "OPENAI_KEY" || sec.Description != "the API key" || len(sec.Allowlist) != 2 || len(sec.ID) != 36 {
		t.Errorf("secret %+v", sec)
	}
	var second secretJSON
	owner.want(201, "POST", "/secrets", map[string]any{"label": "GITHUB_TOKEN", "value": "ghp_x"}, &second)
	if len(second.Allowlist) != 1 || second.Allowlist[0] != "*" {
		t.Errorf("default allowlist %v, want [*]", second.Allowlist)
	}

	// Reads: metadata only; developers read, viewers do not; only
	// owners and admins change.
	for _, c := range []apiClient{owner, dev} {
		for _, path := range []string{"/secrets", "/secrets/" + sec.ID} {
			code, b, _ := c.do("GET", path, nil)
			if code != 200 || strings.Contains(string(b), value) || strings.Contains(string(b), "ghp_x") {
				t.Errorf("GET %s = %d %s, want 200 without a value", path, code, b)
			}
		}
	}
	wantMsg(t, viewer, 403, "GET", "/secrets", nil, "secrets:read")
	wantMsg(t, dev, 403, "POST", "/secrets", map[string]any{"label": "x", "value": "y"}, "secrets:manage")
	wantMsg(t, dev, 403, "DELETE", "/secrets/"+sec.ID, nil, "secrets:manage")

	// Bad input.
	for _, tc := range []struct {
		method, path string
		body         any
		status       int
		msg          string
	}{
		{"POST", "/secrets", map[string]any{"label": "", "value": "v"}, 400, "label: required"},
		{"POST", "/secrets", map[string]any{"label": strings.Repeat("l", 257), "value": "v"}, 400, "at most 256"},
		{"POST", "/secrets", map[string]any{"label": "L"}, 400, "value: required"},
		{"POST", "/secrets", map[string]any{"label": "L", "value": strings.Repeat("v", 8193)}, 400, "at most 8192"},
		{"POST", "/secrets", map[string]any{"label": "L", "value": "v", "description": strings.Repeat("d", 1025)}, 400, "at most 1024"},
		{"POST", "/secrets", map[string]any{"label": "L", "value": "v", "allowlist": []string{"https://api.example.com/v1"}}, 400, "without scheme"},
		{"POST", "/secrets", map[string]any{"label": "L", "value": "v", "allowlist": []string{"bad host"}}, 400, "host name"},
		{"POST", "/secrets", map[string]any{"label": "L", "value": "v", "allowlist": make([]string, 11)}, 400, "at most 10"},
		{"POST", "/secrets", map[string]any{"label": "L", "value": "v", "name": "x"}, 400, "unknown field"},
		{"POST", "/secrets", map[string]any{"label": "OPENAI_KEY", "value": "v"}, 409, "OPENAI_KEY"},
		{"PATCH", "/secrets/" + sec.ID, map[string]any{"label": "GITHUB_TOKEN"}, 409, "GITHUB_TOKEN"},
		{"PATCH", "/secrets/" + sec.ID, map[string]any{}, 400, "nothing to change"},
		{"PATCH", "/secrets/" + sec.ID, map[string]any{"value": ""}, 400, "value: required"},
		{"GET", "/secrets/00000000-0000-4000-8000-000000000000", nil, 404, "not found"},
		{"PATCH", "/secrets/00000000-0000-4000-8000-000000000000", map[string]any{"label": "x"}, 404, "not found"},
		{"DELETE", "/secrets/00000000-0000-4000-8000-000000000000", nil, 404, "not found"},
	} {
		wantMsg(t, owner, tc.status, tc.method, tc.path, tc.body, tc.msg)
	}
	// Another team finds nothing.
	wantMsg(t, other, 404, "GET", "/secrets/"+sec.ID, nil, "not found")
	wantMsg(t, other, 404, "PATCH", "/secrets/"+sec.ID, map[string]any{"label": "stolen"}, "not found")
	wantMsg(t, other, 404, "DELETE", "/secrets/"+sec.ID, nil, "not found")
	var list []secretJSON
	owner.want(200, "GET", "/secrets", nil, &list)
	if len(list) != 2 || list[0].Label != "OPENAI_KEY" || list[0].Description != "the API key" {
		t.Errorf("after bad input and another team's attempts: %+v", list)
	}

	// At rest the value is sealed under the server's key, for this team
	// and secret only.
	sealer, err := secrets.Load(cfg.DataDir, "")
	if err != nil {
		t.Fatal(err)
	}
	team, sealed := sealedRow(t, cfg.DataDir, sec.ID)
	if got, err := sealer.Open(team, sec.ID, sealed); err != nil || string(got) != value {
		t.Errorf("sealed value opens to %q, %v", got, err)
	}
	if _, err := sealer.Open(team, second.ID, sealed); err == nil {
		t.Error("the sealed value opens as another secret's")
	}
	for _, f := range []string{"soulbox.db", "soulbox.db-wal"} {
		if b, err := os.ReadFile(filepath.Join(cfg.DataDir, f)); err == nil && bytes.Contains(b, []byte(value)) {
			t.Errorf("%s holds the value in the clear", f)
		}
	}

	// Relabel, then a new value.
	owner.want(200, "PATCH", "/secrets/"+sec.ID, map[string]any{"label": "OPENAI", "description": ""}, &sec)
	if sec.Label != "OPENAI" || sec.Description != "" || len(sec.Allowlist) != 2 {
		t.Errorf("after relabel: %+v", sec)
	}
	if _, again := sealedRow(t, cfg.DataDir, sec.ID); !bytes.Equal(again, sealed) {
		t.Error("a relabel changed the sealed value")
	}
	owner.want(200, "PATCH", "/secrets/"+sec.ID, map[string]any{"value": "rotated"}, nil)
	if _, now := sealedRow(t, cfg.DataDir, sec.ID); func() bool { v, err := sealer.Open(team, sec.ID, now); return err != nil || string(v) != "rotated" }() {
		t.Error("the new value was not sealed in place of the old")
	}

	owner.want(204, "DELETE", "/secrets/"+sec.ID, nil, nil)
	wantMsg(t, owner, 404, "GET", "/secrets/"+sec.ID, nil, "not found")

	// Every change is in the audit log; no entry holds a value.
	code, b, _ = admin.do("GET", "/audit", nil)
	if code != 200 {
		t.Fatalf("audit: %d %s", code, b)
	}
	for _, want := range []string{"POST /secrets", "PATCH /secrets/{secretID}", "DELETE /secrets/{secretID}"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("audit log has no %q entry", want)
		}
	}
	for _, v := range []string{value, "rotated", "ghp_x"} {
		if strings.Contains(string(b), v) {
			t.Errorf("audit log holds the value %q", v)
		}
	}
}

// idOf reads the id of a JSON object.
func idOf(t *testing.T, b []byte) string {
	t.Helper()
	var v struct{ ID string }
	if err := json.Unmarshal(b, &v); err != nil || v.ID == "" {
		t.Fatalf("no id in %s: %v", b, err)
	}
	return v.ID
}

// sealedRow reads a secret's team and sealed value from the database.
func sealedRow(t *testing.T, dataDir, id string) (string, []byte) {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(dataDir, "soulbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var team string
	var sealed []byte
	if err := db.QueryRow(`SELECT team, sealed FROM secrets WHERE id = ?`, id).Scan(&team, &sealed); err != nil {
		t.Fatal(err)
	}
	return team, sealed
}
