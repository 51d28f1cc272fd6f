package server_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

type tokenJSON struct {
	ID        string    `json:"id"`
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// TestAccessTokens: a token made from a key opens the API as that key,
// with its role, until it expires or the key is revoked, whichever comes
// first; a token cannot make tokens.
func TestAccessTokens(t *testing.T) {
	admin, _ := runServer(t, nil)
	tm, keys := newTeam(t, admin, "tokens", "owner", "viewer")
	owner, viewer := keys["owner"], keys["viewer"]

	var tok tokenJSON
	owner.want(201, "POST", "/access-tokens", map[string]any{"name": "cli", "ttlSeconds": 600}, &tok)
	if tok.Token == "" || tok.ID == "" || time.Until(tok.ExpiresAt) > 601*time.Second || time.Until(tok.ExpiresAt) < 590*time.Second {
		t.Fatalf("token %+v", tok)
	}
	bearer := owner
	do := func(c apiClient, token string, status int, method, path string, body any, msg string) {
		t.Helper()
		code, b := withBearer(t, c.base, token, method, path, body)
		if code != status || !strings.Contains(string(b), msg) {
			t.Errorf("%s %s with a token = %d %s, want %d saying %q", method, path, code, b, status, msg)
		}
	}
	do(bearer, tok.Token, 200, "GET", "/v2/sandboxes", nil, "")
	do(bearer, tok.Token, 200, "GET", "/api-keys", nil, "") // the owner's rights
	do(bearer, tok.Token, 403, "POST", "/access-tokens", map[string]any{}, "cannot make access tokens")

	var vt tokenJSON
	viewer.want(201, "POST", "/access-tokens", map[string]any{}, &vt)
	do(bearer, vt.Token, 403, "POST", "/sandboxes", map[string]any{"templateID": "base"}, "sandboxes:create")

	// Bad lifetimes.
	wantMsg(t, owner, 400, "POST", "/access-tokens", map[string]any{"ttlSeconds": 86401}, "ttlSeconds")
	wantMsg(t, owner, 400, "POST", "/access-tokens", map[string]any{"ttlSeconds": -1}, "ttlSeconds")

	// Expiry.
	var short tokenJSON
	owner.want(201, "POST", "/access-tokens", map[string]any{"ttlSeconds": 1}, &short)
	time.Sleep(2100 * time.Millisecond)
	do(bearer, short.Token, 401, "GET", "/v2/sandboxes", nil, "access token expired")

	// Revoking the viewer's key ends its token at once.
	var listed []struct{ ID, Name string }
	owner.want(200, "GET", "/api-keys", nil, &listed)
	for _, k := range listed {
		if k.Name == "viewer" {
			owner.want(204, "DELETE", "/api-keys/"+k.ID, nil, nil)
		}
	}
	do(bearer, vt.Token, 401, "GET", "/v2/sandboxes", nil, "was revoked")
	// Deleting the team ends the owner's.
	admin.want(204, "DELETE", "/admin/teams/"+tm.TeamID, nil, nil)
	do(bearer, tok.Token, 401, "GET", "/v2/sandboxes", nil, "which was deleted")
}

// withBearer sends a request with token as its bearer credential.
func withBearer(t *testing.T, base, token, method, path string, body any) (int, []byte) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, base+path, r)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}
