package tenancy

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/sqlite"
)

func TestAdmitBuild(t *testing.T) {
	q := store.Quota{DiskBytes: 1000, BuildMinutes: 10}
	for _, tc := range []struct {
		name string
		q    store.Quota
		u    BuildUsage
		msg  string // "" admits
	}{
		{"empty", q, BuildUsage{}, ""},
		{"a second left", q, BuildUsage{DiskBytes: 999, Build: 10*time.Minute - time.Second}, ""},
		{"minutes used up", q, BuildUsage{Build: 10 * time.Minute}, "team quota of 10 build minutes per 30 days used up (10.00 used)"},
		{"disk full", q, BuildUsage{DiskBytes: 1000}, "team quota of 1000 bytes of template and snapshot disk would be exceeded: 1000 bytes in use"},
		{"no quota", store.Quota{}, BuildUsage{DiskBytes: 1 << 50, Build: 1000 * time.Hour}, ""},
	} {
		err := AdmitBuild(tc.q, tc.u)
		if tc.msg == "" && err != nil {
			t.Errorf("%s: %v, want admitted", tc.name, err)
		}
		if tc.msg != "" && (!errors.Is(err, errdefs.ErrResourceExhausted) || !strings.Contains(err.Error(), tc.msg)) {
			t.Errorf("%s: %v, want resource exhausted saying %q", tc.name, err, tc.msg)
		}
	}
	if err := AdmitDisk(q, BuildUsage{DiskBytes: 600}, 400); err != nil {
		t.Errorf("up to the limit: %v", err)
	}
	if err := AdmitDisk(q, BuildUsage{DiskBytes: 600}, 401); !errors.Is(err, errdefs.ErrResourceExhausted) {
		t.Errorf("a byte past the limit: %v", err)
	}
	if left, ok := BuildTimeLeft(q, BuildUsage{Build: 9 * time.Minute}); !ok || left != time.Minute {
		t.Errorf("time left: %v %v", left, ok)
	}
	if _, ok := BuildTimeLeft(store.Quota{}, BuildUsage{}); ok {
		t.Error("time left without a limit")
	}
}

// TestTeamBuildUsage: ready builds of the team's own templates count on
// disk; building time counts within the window only, running builds up
// to now; other teams' builds do not count; deleting a template keeps
// its builds' time.
func TestTeamBuildUsage(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now().Truncate(time.Millisecond)
	build := func(team, tpl, id string, start, end time.Time, size int64) {
		t.Helper()
		if _, err := st.GetTemplate(ctx, tpl); err != nil {
			if err := st.CreateTemplate(ctx, store.Template{ID: tpl, Team: team, CPUCount: 1, MemoryMB: 512, Public: true}); err != nil {
				t.Fatal(err)
			}
		}
		b := store.TemplateBuild{ID: id, TemplateID: tpl, Status: store.BuildWaiting, CPUCount: 1, MemoryMB: 512}
		if err := st.CreateBuild(ctx, b); err != nil {
			t.Fatal(err)
		}
		if start.IsZero() {
			return
		}
		if err := st.StartBuild(ctx, tpl, id, "{}", start); err != nil {
			t.Fatal(err)
		}
		if end.IsZero() {
			return
		}
		b.Status, b.SizeBytes = store.BuildReady, size
		if size == 0 {
			b.Status, b.Reason = store.BuildError, "failed"
		}
		if err := st.FinishBuild(ctx, b, nil, end); err != nil {
			t.Fatal(err)
		}
	}
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	// Straddles the window's start: 10 minutes of it count.
	build("a", "t1", "b1", ago(store.BuildWindow+5*time.Minute), ago(store.BuildWindow-10*time.Minute), 100)
	// Wholly before the window: its disk counts, its time does not.
	build("a", "t1", "b2", ago(store.BuildWindow+time.Hour), ago(store.BuildWindow+time.Minute), 20)
	// Failed: time counts, no disk.
	build("a", "t2", "b3", ago(time.Hour), ago(time.Hour-3*time.Minute), 0)
	// Running for 2 minutes so far.
	build("a", "t2", "b4", ago(2*time.Minute), time.Time{}, 0)
	// Waiting: nothing.
	build("a", "t2", "b5", time.Time{}, time.Time{}, 0)
	// Another team's public template.
	build("b", "t3", "b6", ago(time.Hour), ago(time.Minute), 5000)

	u, err := TeamBuildUsage(ctx, st, "a", now)
	if err != nil {
		t.Fatal(err)
	}
	if u.DiskBytes != 120 {
		t.Errorf("disk %d, want 120", u.DiskBytes)
	}
	if want := 15 * time.Minute; u.Build < want || u.Build > want+time.Second {
		t.Errorf("build time %v, want %v", u.Build, want)
	}
	if u.Minutes() < 15 || u.Minutes() > 15.02 {
		t.Errorf("minutes %v", u.Minutes())
	}

	// Deleting templates frees their disk but gives no build time back.
	for _, tpl := range []string{"t1", "t2"} {
		if err := st.DeleteTemplate(ctx, tpl); err != nil {
			t.Fatal(err)
		}
	}
	after, err := TeamBuildUsage(ctx, st, "a", now)
	if err != nil {
		t.Fatal(err)
	}
	if after.DiskBytes != 0 {
		t.Errorf("disk after the templates were deleted: %d, want 0", after.DiskBytes)
	}
	if after.Build < 15*time.Minute || after.Build > 15*time.Minute+time.Second {
		t.Errorf("build time after the templates were deleted: %v, want %v as before", after.Build, u.Build)
	}
}
