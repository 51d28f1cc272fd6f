package server_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/auth"
)

// TestRevokeAccessToken: E2B's DELETE /access-tokens/{accessTokenID}
// ends one token at once and no other; its key, the token itself and
// the team's key managers may revoke it, another team cannot even find
// it; the revocation outlives a restart and is in the audit log.
func TestRevokeAccessToken(t *testing.T) {
	cfg := testConfig(t)
	cfg.AdminKey, _, _ = auth.Generate()
	addr, stop := serveInProcess(t, cfg)
	admin := apiClient{t: t, base: "http://" + addr, key: cfg.AdminKey}
	_, keys := newTeam(t, admin, "alpha", "owner", "developer")
	_, other := newTeam(t, admin, "beta", "owner")
	owner, dev := keys["owner"], keys["developer"]

	mint := func(c apiClient) tokenJSON {
		t.Helper()
		var tok tokenJSON
		c.want(201, "POST", "/access-tokens", map[string]any{"name": "cli", "ttlSeconds": 600}, &tok)
		return tok
	}
	works := func(base string, tok tokenJSON, want int, msg string) {
		t.Helper()
		code, b := withBearer(t, base, tok.Token, "GET", "/v2/sandboxes", nil)
		if code != want {
			t.Errorf("token %s: GET /v2/sandboxes = %d %s, want %d (%s)", tok.ID, code, b, want, msg)
		}
	}
	t1, t2, t3, td := mint(owner), mint(owner), mint(owner), mint(dev)

	// Bad input: unknown, another team's, another key's without keys:manage.
	wantMsg(t, owner, 404, "DELETE", "/access-tokens/tok_0000000000000000", nil, "not found")
	wantMsg(t, other["owner"], 404, "DELETE", "/access-tokens/"+t1.ID, nil, "not found")
	wantMsg(t, dev, 403, "DELETE", "/access-tokens/"+t1.ID, nil, "keys:manage")
	works(admin.base, t1, 200, "refused revocations change nothing")

	owner.want(204, "DELETE", "/access-tokens/"+t1.ID, nil, nil)
	code, b := withBearer(t, admin.base, t1.Token, "GET", "/v2/sandboxes", nil)
	if code != 401 || !strings.Contains(string(b), "was revoked") {
		t.Errorf("revoked token: %d %s, want 401 saying it was revoked", code, b)
	}
	works(admin.base, t2, 200, "another token of the same key still works")
	wantMsg(t, owner, 404, "DELETE", "/access-tokens/"+t1.ID, nil, "not found")

	// A token logs itself out; a manager revokes a developer's token.
	if code, b := withBearer(t, admin.base, t2.Token, "DELETE", "/access-tokens/"+t2.ID, nil); code != 204 {
		t.Errorf("token revoking itself = %d %s, want 204", code, b)
	}
	works(admin.base, t2, 401, "revoked by itself")
	owner.want(204, "DELETE", "/access-tokens/"+td.ID, nil, nil)
	works(admin.base, td, 401, "revoked by the team's owner")

	var entries []struct{ Action, Target string }
	admin.want(200, "GET", "/audit", nil, &entries)
	found := 0
	for _, e := range entries {
		if e.Action == "DELETE /access-tokens/{accessTokenID}" && (e.Target == "/access-tokens/"+t1.ID || e.Target == "/access-tokens/"+td.ID) {
			found++
		}
	}
	if found < 2 {
		t.Errorf("audit entries %+v: want the revocations of %s and %s", entries, t1.ID, td.ID)
	}

	// The revocation is durable: after a restart the token is still
	// refused, and a token not revoked still works.
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	addr, stop = serveInProcess(t, cfg)
	defer func() { _ = stop() }()
	works("http://"+addr, t1, 401, "revoked before the restart")
	works("http://"+addr, t3, 200, "not revoked")
}

// TestEventsStreamEndsWhenItsTokenIsRevoked: an open GET /events stream
// opened with an access token ends with an error event within the
// recheck bound once that token is revoked; a stream of another token of
// the same key stays open.
func TestEventsStreamEndsWhenItsTokenIsRevoked(t *testing.T) {
	admin, _ := runServer(t, nil)
	_, keys := newTeam(t, admin, "streams", "owner")
	owner := keys["owner"]
	var revoked, kept tokenJSON
	owner.want(201, "POST", "/access-tokens", map[string]any{"ttlSeconds": 600}, &revoked)
	owner.want(201, "POST", "/access-tokens", map[string]any{"ttlSeconds": 600}, &kept)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r1, revokedStream := openEvents(t, ctx, admin.base, revoked.Token, "", "")
	r2, keptStream := openEvents(t, ctx, admin.base, kept.Token, "", "")
	if r1.StatusCode != 200 || r2.StatusCode != 200 {
		t.Fatalf("streams: %d, %d", r1.StatusCode, r2.StatusCode)
	}
	owner.want(204, "DELETE", "/access-tokens/"+revoked.ID, nil, nil)
	ev, ended := waitEnd(revokedStream, 30*time.Second)
	if !ended || ev.typ != "error" {
		t.Errorf("stream of the revoked token ended %v, last event %+v; want it ended with an error event", ended, ev)
	}
	if _, ended := waitEnd(keptStream, time.Second); ended {
		t.Error("the stream of a token not revoked ended")
	}
}

// TestExpiredTokenRecordsSwept: the record of a token, revoked or not,
// is kept until the token expires and swept after, when a token is
// issued.
func TestExpiredTokenRecordsSwept(t *testing.T) {
	admin, cfg := runServer(t, nil)
	// The expiry is truncated to the second, so a token of ttl seconds
	// may expire up to a second early: ttl leaves the issues, the
	// revocation and the first look at the records more than ttl-1 s
	// before the first expiry, however loaded the host.
	const ttl = 5
	var short, revoked, long tokenJSON
	admin.want(201, "POST", "/access-tokens", map[string]any{"ttlSeconds": ttl}, &short)
	admin.want(201, "POST", "/access-tokens", map[string]any{"ttlSeconds": ttl}, &revoked)
	admin.want(204, "DELETE", "/access-tokens/"+revoked.ID, nil, nil)
	admin.want(201, "POST", "/access-tokens", map[string]any{"ttlSeconds": 600}, &long)
	records := func() map[string]bool {
		t.Helper()
		db, err := sql.Open("sqlite", filepath.Join(cfg.DataDir, "soulbox.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		rows, err := db.Query(`SELECT id FROM access_tokens`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		ids := map[string]bool{}
		for rows.Next() {
			var id string
			_ = rows.Scan(&id)
			ids[id] = true
		}
		return ids
	}
	if r := records(); !r[short.ID] || !r[revoked.ID] || !r[long.ID] {
		t.Fatalf("records before expiry: %v", r)
	}
	// Until both short tokens have expired, as the server said they would.
	expiry := short.ExpiresAt
	if revoked.ExpiresAt.After(expiry) {
		expiry = revoked.ExpiresAt
	}
	if short.ExpiresAt.IsZero() || revoked.ExpiresAt.IsZero() || time.Until(expiry) > ttl*time.Second {
		t.Fatalf("expiries %v and %v, want within %d s", short.ExpiresAt, revoked.ExpiresAt, ttl)
	}
	time.Sleep(time.Until(expiry) + 100*time.Millisecond)
	var next tokenJSON
	admin.want(201, "POST", "/access-tokens", map[string]any{}, &next)
	if r := records(); r[short.ID] || r[revoked.ID] || !r[long.ID] || !r[next.ID] {
		t.Errorf("records after expiry and an issue: %v, want %s and %s only", r, long.ID, next.ID)
	}
	works := func(tok tokenJSON) int {
		code, _ := withBearer(t, admin.base, tok.Token, "GET", "/v2/sandboxes", nil)
		return code
	}
	if works(short) != 401 || works(revoked) != 401 || works(long) != 200 {
		t.Errorf("after the sweep: short %d, revoked %d, long %d; want 401, 401, 200", works(short), works(revoked), works(long))
	}
}
