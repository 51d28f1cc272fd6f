package server_test

import (
	"strings"
	"testing"
)

// TestMetricsWithoutPool: a server with the warm pool off still answers
// /metrics with what it has, the sandboxes by state.
func TestMetricsWithoutPool(t *testing.T) {
	if testing.Short() {
		t.Skip("creates a real sandbox")
	}
	c, _ := runServer(t, nil) // the pool is off in tests unless asked for
	scrape := func() string {
		t.Helper()
		code, body, h := c.do("GET", "/metrics", nil)
		if code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/plain") {
			t.Fatalf("/metrics: %d %q\n%s", code, h.Get("Content-Type"), body)
		}
		return string(body)
	}
	for _, line := range []string{
		"# TYPE soulbox_sandboxes gauge",
		`soulbox_sandboxes{state="running"} 0`,
		`soulbox_sandboxes{state="paused"} 0`,
	} {
		if body := scrape(); !strings.Contains(body, line+"\n") {
			t.Errorf("/metrics lacks %q:\n%s", line, body)
		}
	}
	if body := scrape(); strings.Contains(body, "soulbox_pool_") {
		t.Errorf("/metrics reports a pool that is off:\n%s", body)
	}
	var sb sandboxJSON
	c.want(201, "POST", "/sandboxes", map[string]any{"templateID": "base"}, &sb)
	if body := scrape(); !strings.Contains(body, `soulbox_sandboxes{state="running"} 1`+"\n") {
		t.Errorf("/metrics after a create:\n%s", body)
	}
	c.want(204, "POST", "/sandboxes/"+sb.SandboxID+"/pause", nil, nil)
	if body := scrape(); !strings.Contains(body, `soulbox_sandboxes{state="paused"} 1`+"\n") {
		t.Errorf("/metrics after a pause:\n%s", body)
	}
}
