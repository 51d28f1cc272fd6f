package server_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/soulbox/soulbox/internal/server"
)

// TestControlPlaneOnly: a server with --embedded-node=off runs nothing
// itself: no embedded node is listed, /health and /ready say so, a
// create with no node joined is the scheduler's 503, and what only a
// server's own runtime does (template builds, warm pools) answers 503
// saying why (TestControlPlaneTemplateRefusals has the rest); a sandbox it does not know is a 404, never a 500. Nothing
// of a runtime is made in its data dir.
func TestControlPlaneOnly(t *testing.T) {
	c, cfg := runServer(t, func(cfg *server.Config) {
		cfg.EmbeddedNode = "off"
		cfg.NodeListen = freeAddr(t)
		cfg.PoolMax, cfg.PoolMin = 16, 1 // ignored: no pool runs here
	})
	var health struct {
		Runtime   string            `json:"runtime"`
		Templates map[string]string `json:"templates"`
	}
	getJSON(t, c.base+"/health", http.StatusOK, &health)
	if health.Runtime != "none" || len(health.Templates) != 0 {
		t.Errorf("health %+v, want runtime none and no template built", health)
	}
	var ready struct {
		Status string `json:"status"`
	}
	getJSON(t, c.base+"/ready", http.StatusOK, &ready)
	var nodes []nodeJSON
	c.want(200, "GET", "/nodes", nil, &nodes)
	if len(nodes) != 0 {
		t.Errorf("nodes %+v, want none", nodes)
	}
	const why = "embedded-node=off"
	for _, tc := range []struct {
		method, path string
		body         any
		status       int
		msg          string
	}{
		{"POST", "/sandboxes", map[string]any{"templateID": "base"}, 503, "no node is ready"},
		{"POST", "/v3/templates", map[string]any{"name": "x", "cpuCount": 1, "memoryMB": 256}, 503, why},
		{"POST", "/sandboxes/nope/pause", map[string]any{}, 404, `"message"`},
		{"POST", "/sandboxes/nope/timeout", map[string]any{"timeout": 10}, 404, `"message"`},
		{"DELETE", "/sandboxes/nope", nil, 404, `"message"`},
	} {
		wantMsg(t, c, tc.status, tc.method, tc.path, tc.body, tc.msg)
	}
	c.want(200, "GET", "/templates", nil, nil)
	var list []json.RawMessage
	c.want(200, "GET", "/v2/sandboxes", nil, &list)
	for _, dir := range []string{"runtime", "checkpoints"} {
		if _, err := os.Stat(filepath.Join(cfg.DataDir, dir)); err == nil {
			t.Errorf("a control plane only made %s in its data dir", dir)
		}
	}
}
