package server_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/sqlite"
	"github.com/soulbox/soulbox/internal/testutil"
)

// TestBuildMinutesSurviveTemplateDelete: deleting a template does not
// give its build minutes back: a team that used up its minutes and
// deleted the template it built is still refused the next build (429),
// and GET /quota still shows the minutes used.
func TestBuildMinutesSurviveTemplateDelete(t *testing.T) {
	testutil.RequiresRoot(t)
	admin, cfg := runServer(t, nil)
	tm, keys := newTeam(t, admin, "builders", "developer")
	dev := keys["developer"]
	path := "/admin/teams/" + tm.TeamID + "/quota"

	// The team built for 61 minutes an hour ago (a build cannot be made
	// to take an hour here): recorded as the builder records it.
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(cfg.DataDir, "soulbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	past := store.TemplateBuild{ID: "bldold", TemplateID: "tplold", Status: store.BuildWaiting, CPUCount: 1, MemoryMB: 512}
	err = db.CreateTemplate(ctx, store.Template{ID: "tplold", Names: []string{"old"}, Team: tm.TeamID, CPUCount: 1, MemoryMB: 512})
	if err == nil {
		err = db.CreateBuild(ctx, past)
	}
	if err == nil {
		err = db.StartBuild(ctx, past.TemplateID, past.ID, "{}", now.Add(-2*time.Hour))
	}
	if err == nil {
		past.Status = store.BuildReady
		err = db.FinishBuild(ctx, past, []string{store.DefaultTag}, now.Add(-time.Hour+time.Minute))
	}
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	var q buildQuotaJSON
	admin.want(200, "PUT", path, map[string]any{"buildMinutes": 60}, &q)
	if q.Usage.BuildMinutes < 61 || q.Usage.BuildMinutes > 61.1 {
		t.Fatalf("build minutes before the delete: %+v", q)
	}
	dev.want(204, "DELETE", "/templates/tplold", nil, nil)
	dev.want(200, "GET", "/quota", nil, &q)
	if q.Usage.BuildMinutes < 61 || q.Usage.BuildMinutes > 61.1 {
		t.Errorf("build minutes after the template was deleted: %v, want the 61 still", q.Usage.BuildMinutes)
	}
	code, body, _ := startBuild(t, dev, "again", "true")
	if code != 429 || !strings.Contains(body, "team quota of 60 build minutes per 30 days used up") {
		t.Errorf("a build after deleting the template that used the minutes: %d %s, want 429", code, body)
	}
}
