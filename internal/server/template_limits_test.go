package server_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/soulbox/soulbox/internal/auth"
	"github.com/soulbox/soulbox/internal/server"
	"github.com/soulbox/soulbox/internal/store/sqlite"
)

// A team's key may set a template pool up to the configured ceiling; only
// an admin key goes above it.
func TestTemplatePoolCeilingThroughTheAPI(t *testing.T) {
	c, cfg := runServer(t, func(cfg *server.Config) { cfg.TemplateLimits.PoolTeamMax = 2 })
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(cfg.DataDir, "soulbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	key, _, err := auth.Create(ctx, db, "member", auth.DefaultTeam, false)
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	member := apiClient{t: t, base: c.base, key: key}
	member.want(202, "POST", "/v3/templates", map[string]any{"name": "capped"}, nil)
	member.want(200, "PUT", "/templates/capped/pool", map[string]any{"min": 0, "max": 2}, nil)
	code, body, _ := member.do("PUT", "/templates/capped/pool", map[string]any{"min": 0, "max": 3})
	if code != 403 || !strings.Contains(string(body), `"code":403`) || !strings.Contains(string(body), "admin key") {
		t.Fatalf("above the ceiling with a team key: %d %s", code, body)
	}
	var p poolJSON
	c.want(200, "GET", "/templates/capped/pool", nil, &p)
	if p.Max != 2 {
		t.Fatalf("a refused pool change was kept: %+v", p)
	}
	c.want(200, "PUT", "/templates/capped/pool", map[string]any{"min": 0, "max": 3}, nil)
}
