package server_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/server"
	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/sqlite"
	"github.com/soulbox/soulbox/internal/testutil"
)

// buildQuotaJSON is GET /quota's disk and build-minute fields.
type buildQuotaJSON struct {
	Quota struct {
		DiskBytes    int64 `json:"diskBytes"`
		BuildMinutes int   `json:"buildMinutes"`
	} `json:"quota"`
	Usage struct {
		DiskBytes    int64   `json:"diskBytes"`
		BuildMinutes float64 `json:"buildMinutes"`
	} `json:"usage"`
	BuildWindowDays int `json:"buildWindowDays"`
}

// buildStatus is a build's end as GET .../status tells it.
type buildStatus struct {
	Status string `json:"status"`
	Reason *struct {
		Message string `json:"message"`
	} `json:"reason"`
}

// startBuild requests and starts a build of a new template name from the
// default template running cmd, and returns its path.
func startBuild(t *testing.T, c apiClient, name, cmd string) (status int, body, path string) {
	t.Helper()
	var req struct {
		TemplateID string `json:"templateID"`
		BuildID    string `json:"buildID"`
	}
	c.want(202, "POST", "/v3/templates", map[string]any{"name": name, "cpuCount": 1, "memoryMB": 512}, &req)
	code, b, _ := c.do("POST", "/v2/templates/"+req.TemplateID+"/builds/"+req.BuildID, map[string]any{
		"fromTemplate": "base",
		"steps":        []map[string]any{{"type": "RUN", "args": []string{cmd}}},
	})
	return code, string(b), "/templates/" + req.TemplateID + "/builds/" + req.BuildID + "/status"
}

// waitBuild polls a build's status until it ends.
func waitBuild(t *testing.T, c apiClient, path string) buildStatus {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		var st buildStatus
		c.want(200, "GET", path, nil, &st)
		if st.Status == "ready" || st.Status == "error" {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("build %s still %s", path, st.Status)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestBuildQuotas: a team's build minutes and template disk are counted,
// shown by GET /quota and enforced: a running build that uses up the
// minutes is stopped and fails saying so, a build with none left is
// refused with 429 naming the limit; a build whose result takes the team
// past its disk quota fails saying so, and a build or a snapshot with the
// disk used up is refused with 429.
func TestBuildQuotas(t *testing.T) {
	testutil.RequiresRoot(t)
	if testing.Short() {
		t.Skip("builds templates")
	}
	admin, cfg := runServer(t, func(cfg *server.Config) {
		privateTemplates(t, cfg)
		cfg.PoolPrewarm = "none"
	})
	tm, keys := newTeam(t, admin, "builders", "developer")
	dev := keys["developer"]
	killAll(t, dev)
	path := "/admin/teams/" + tm.TeamID + "/quota"

	var q buildQuotaJSON
	dev.want(200, "GET", "/quota", nil, &q)
	if q.BuildWindowDays != 30 || q.Usage.DiskBytes != 0 || q.Usage.BuildMinutes != 0 {
		t.Fatalf("a new team's build usage: %+v", q)
	}
	wantMsg(t, admin, 400, "PUT", path, map[string]any{"diskBytes": -1}, "0 (none) or more")
	wantMsg(t, admin, 400, "PUT", path, map[string]any{"buildMinutes": -5}, "0 (none) or more")
	wantMsg(t, admin, 400, "PUT", path, map[string]any{"buildMinutes": "ten"}, "buildMinutes")
	wantMsg(t, dev, 403, "PUT", path, map[string]any{"buildMinutes": 1000}, "server:admin")

	// The team built for 59m50s within the window already: an hour's
	// quota leaves ten seconds.
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(cfg.DataDir, "soulbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	past := store.TemplateBuild{ID: "bldpast", TemplateID: "tplpast", Status: store.BuildWaiting, CPUCount: 1, MemoryMB: 512}
	err = db.CreateTemplate(ctx, store.Template{ID: "tplpast", Names: []string{"past"}, Team: tm.TeamID, CPUCount: 1, MemoryMB: 512})
	if err == nil {
		err = db.CreateBuild(ctx, past)
	}
	if err == nil {
		err = db.StartBuild(ctx, past.TemplateID, past.ID, "{}", now.Add(-59*time.Minute-50*time.Second))
	}
	if err == nil {
		past.Status, past.Reason = store.BuildError, "step 1 failed"
		err = db.FinishBuild(ctx, past, nil, now)
	}
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	admin.want(200, "PUT", path, map[string]any{"buildMinutes": 60}, &q)
	if q.Quota.BuildMinutes != 60 || q.Usage.BuildMinutes < 59.8 || q.Usage.BuildMinutes > 59.9 {
		t.Fatalf("build minutes after an hour's quota: %+v", q)
	}
	code, body, status := startBuild(t, dev, "slow", "sleep 6011")
	if code != 202 {
		t.Fatalf("a build with ten seconds left: %d %s", code, body)
	}
	st := waitBuild(t, dev, status)
	if st.Status != "error" || st.Reason == nil || !strings.Contains(st.Reason.Message, "team quota of 60 build minutes per 30 days used up") {
		t.Fatalf("a build past the build minutes ended %s, %+v", st.Status, st.Reason)
	}
	// The stopped build's step does not live on.
	if pids := processesRunning(t, "sleep 6011"); len(pids) > 0 {
		t.Errorf("the stopped build's step is still running: pids %v", pids)
	}
	dev.want(200, "GET", "/quota", nil, &q)
	if q.Usage.BuildMinutes < 60 || q.Usage.BuildMinutes > 60.5 {
		t.Errorf("build minutes after the stopped build: %v, want the hour", q.Usage.BuildMinutes)
	}
	code, body, _ = startBuild(t, dev, "refused", "true")
	if code != 429 || !strings.Contains(body, "team quota of 60 build minutes per 30 days used up") {
		t.Errorf("a build with no minutes left: %d %s", code, body)
	}

	// Disk: one byte is less than any build makes.
	admin.want(200, "PUT", path, map[string]any{"diskBytes": 1}, &q)
	_, _, status = startBuild(t, dev, "big", "head -c 1048576 /dev/urandom > /home/user/blob")
	st = waitBuild(t, dev, status)
	if st.Status != "error" || st.Reason == nil || !strings.Contains(st.Reason.Message, "team quota of 1 bytes of template and snapshot disk") {
		t.Fatalf("a build past the disk quota ended %s, %+v", st.Status, st.Reason)
	}
	dev.want(200, "GET", "/quota", nil, &q)
	if q.Usage.DiskBytes != 0 {
		t.Errorf("a failed build counts %d bytes", q.Usage.DiskBytes)
	}
	admin.want(200, "PUT", path, map[string]any{"diskBytes": 1 << 40}, nil)
	_, _, status = startBuild(t, dev, "fits", "head -c 1048576 /dev/urandom > /home/user/blob")
	if st := waitBuild(t, dev, status); st.Status != "ready" {
		t.Fatalf("a build within the quota: %+v", st)
	}
	dev.want(200, "GET", "/quota", nil, &q)
	if q.Usage.DiskBytes < 1<<20 {
		t.Fatalf("disk used after a 1 MiB build: %d", q.Usage.DiskBytes)
	}
	used := q.Usage.DiskBytes
	admin.want(200, "PUT", path, map[string]any{"diskBytes": used}, nil)
	code, body, _ = startBuild(t, dev, "nospace", "true")
	if code != 429 || !strings.Contains(body, "template and snapshot disk would be exceeded") {
		t.Errorf("a build with the disk used up: %d %s", code, body)
	}
	var sb sandboxJSON
	dev.want(201, "POST", "/sandboxes", map[string]any{"templateID": "base"}, &sb)
	wantMsg(t, dev, 429, "POST", "/sandboxes/"+sb.SandboxID+"/snapshots", map[string]any{"memory": false}, "template and snapshot disk would be exceeded")
	var snaps []map[string]any
	dev.want(200, "GET", "/snapshots", nil, &snaps)
	if len(snaps) != 0 {
		t.Errorf("a refused snapshot was kept: %v", snaps)
	}
	// Lifting the quota lets the snapshot through; it counts.
	admin.want(200, "PUT", path, map[string]any{}, nil)
	dev.want(201, "POST", "/sandboxes/"+sb.SandboxID+"/snapshots", map[string]any{"memory": false}, nil)
	dev.want(200, "GET", "/quota", nil, &q)
	if q.Usage.DiskBytes <= used {
		t.Errorf("disk used after a snapshot: %d, before %d", q.Usage.DiskBytes, used)
	}
}

// processesRunning lists the host's processes whose command line is cmd.
func processesRunning(t *testing.T, cmd string) []string {
	t.Helper()
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var pids []string
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join("/proc", d.Name(), "cmdline"))
		if err != nil {
			continue
		}
		if strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " ")) == cmd {
			pids = append(pids, d.Name())
		}
	}
	return pids
}
