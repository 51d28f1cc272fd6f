package server_test

import (
	"encoding/json"
	"strings"
	"testing"
)

// POST /sandboxes/{id}/processes/kill: 204 for a running sandbox (which
// stays running), {code, message} 404 for an unknown one and 409 for a
// paused one, as in the OpenAPI document.
func TestKillProcessesRoute(t *testing.T) {
	if testing.Short() {
		t.Skip("creates real sandboxes")
	}
	c, _ := runServer(t, nil)
	sb := create(t, c, map[string]any{})
	c.want(204, "POST", "/sandboxes/"+sb.SandboxID+"/processes/kill", nil, nil)
	var got struct{ State string }
	c.want(200, "GET", "/sandboxes/"+sb.SandboxID, nil, &got)
	if got.State != "running" {
		t.Errorf("after the kill the sandbox is %q", got.State)
	}
	for _, tc := range []struct {
		name   string
		prep   func()
		id     string
		status int
		says   string
	}{
		{"unknown", func() {}, "inosuchsandbox000000", 404, "not found"},
		{"paused", func() { c.want(204, "POST", "/sandboxes/"+sb.SandboxID+"/pause", nil, nil) }, sb.SandboxID, 409, "resume"},
	} {
		tc.prep()
		status, b, _ := c.do("POST", "/sandboxes/"+tc.id+"/processes/kill", nil)
		var e struct {
			Code    int
			Message string
		}
		if status != tc.status || json.Unmarshal(b, &e) != nil || e.Code != tc.status || !strings.Contains(e.Message, tc.says) {
			t.Errorf("%s: %d %s; want %d {code, message} saying %q", tc.name, status, b, tc.status, tc.says)
		}
	}
}
