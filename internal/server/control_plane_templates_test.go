package server_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/soulbox/soulbox/internal/server"
	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/sqlite"
)

// TestControlPlaneTemplateRefusals: on a control plane without an
// embedded node, builds and pool changes are refused only once the
// request is authorised and checked, and are audited like any change: a
// key without the permission gets 403, a malformed request 400, and a
// well-formed one 503 saying why; resetting a pool is refused as setting
// one is.
func TestControlPlaneTemplateRefusals(t *testing.T) {
	admin, cfg := runServer(t, func(cfg *server.Config) {
		cfg.EmbeddedNode = "off"
		cfg.NodeListen = freeAddr(t)
	})
	tm, keys := newTeam(t, admin, "builders", "viewer", "developer")
	viewer, dev := keys["viewer"], keys["developer"]
	// A template of the team's and a build waiting for its start, as a
	// server with an embedded node on this store would have left them.
	st, err := sqlite.Open(context.Background(), filepath.Join(cfg.DataDir, "soulbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.CreateTemplate(context.Background(), store.Template{ID: "tpl_own", Team: tm.TeamID, CPUCount: 1, MemoryMB: 256}); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateBuild(context.Background(), store.TemplateBuild{ID: "bld_w", TemplateID: "tpl_own", Status: store.BuildWaiting, CPUCount: 1, MemoryMB: 256}); err != nil {
		t.Fatal(err)
	}
	const why = "embedded-node=off"
	build := map[string]any{"name": "x", "cpuCount": 1, "memoryMB": 256}
	// Builds need object storage on such a control plane (none here).
	const noObjects = "--s3-endpoint"
	for _, tc := range []struct {
		c            apiClient
		method, path string
		body         any
		status       int
		msg          string
	}{
		{viewer, "POST", "/v3/templates", build, 403, "templates:build"},
		{viewer, "PUT", "/templates/base/pool", map[string]any{"min": 1, "max": 2}, 403, "templates:build"},
		{dev, "POST", "/v3/templates", "not an object", 400, `"message"`},
		{dev, "POST", "/v3/templates", map[string]any{"name": "x", "cpuCount": -1, "memoryMB": 256}, 400, "cpu"},
		{dev, "PUT", "/templates/tpl_own/pool", map[string]any{"min": 1}, 400, "max is required"},
		{dev, "POST", "/v2/templates/tpl_none/builds/bld_w", map[string]any{}, 404, "not found"},
		{dev, "POST", "/v3/templates", build, 503, why},
		{dev, "POST", "/v3/templates", build, 503, noObjects},
		{dev, "POST", "/v2/templates/tpl_own/builds/bld_w", map[string]any{}, 503, noObjects},
		{dev, "PUT", "/templates/tpl_own/pool", map[string]any{"min": 1, "max": 2}, 503, why},
		{dev, "DELETE", "/templates/tpl_own/pool", nil, 503, why},
	} {
		wantMsg(t, tc.c, tc.status, tc.method, tc.path, tc.body, tc.msg)
	}
	var all []store.AuditEntry
	admin.want(200, "GET", "/audit", nil, &all)
	var statuses []string
	for _, e := range all {
		if strings.Contains(e.Action, "/v3/templates") {
			statuses = append(statuses, e.Action+" "+itoa(e.Status))
		}
	}
	if strings.Join(statuses, ",") != "POST /v3/templates 403,POST /v3/templates 400,POST /v3/templates 400,POST /v3/templates 503,POST /v3/templates 503" {
		t.Errorf("audited builds: %q, want the 403, the two 400s and the 503s", statuses)
	}
	if tpl, err := st.GetTemplate(context.Background(), "tpl_own"); err != nil || tpl.Pool != nil {
		t.Errorf("template after refused pool changes: %+v, %v; want no pool set", tpl, err)
	}
}
