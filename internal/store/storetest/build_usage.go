package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/soulbox/soulbox/internal/store"
)

// testBuildUsage: the build-usage ledger has a span per started build,
// opened by StartBuild and closed by FinishBuild, FailUnfinishedBuilds
// or its template's deletion, for the template's team; deleting a
// template keeps its spans, so its build time still counts.
func (s *suite) testBuildUsage(t *testing.T) {
	ctx := context.Background()
	st := s.open(t)
	for _, tpl := range []store.Template{{ID: "t1", Team: "a"}, {ID: "t2", Team: "a"}, {ID: "t3", Team: "b"}} {
		tpl.CPUCount, tpl.MemoryMB = 1, 512
		if err := st.CreateTemplate(ctx, tpl); err != nil {
			t.Fatal(err)
		}
	}
	start := func(tpl, id string, d time.Duration) store.TemplateBuild {
		t.Helper()
		b := store.TemplateBuild{ID: id, TemplateID: tpl, Status: store.BuildWaiting, CPUCount: 1, MemoryMB: 512}
		if err := st.CreateBuild(ctx, b); err != nil {
			t.Fatal(err)
		}
		if err := st.StartBuild(ctx, tpl, id, "{}", at(d)); err != nil {
			t.Fatal(err)
		}
		return b
	}
	b1 := start("t1", "b1", time.Minute)
	b1.Status = store.BuildReady
	if err := st.FinishBuild(ctx, b1, nil, at(4*time.Minute)); err != nil {
		t.Fatal(err)
	}
	start("t2", "b2", 5*time.Minute) // still running when its template goes
	start("t2", "b3", 6*time.Minute)
	start("t3", "b4", 7*time.Minute) // another team's, failed at startup
	// A waiting build has no span.
	if err := st.CreateBuild(ctx, store.TemplateBuild{ID: "b5", TemplateID: "t1", Status: store.BuildWaiting, CPUCount: 1, MemoryMB: 512}); err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	if err := st.DeleteTemplate(ctx, "t2"); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteTemplate(ctx, "t1"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.FailUnfinishedBuilds(ctx, "restart", at(9*time.Minute)); err != nil {
		t.Fatal(err)
	}

	got, err := st.ListBuildUsage(ctx, "a", at(0))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("team a's spans after its templates were deleted: %+v, want b1, b2, b3", got)
	}
	if diff := cmp.Diff(store.BuildSpan{BuildID: "b1", Team: "a", StartedAt: at(time.Minute), FinishedAt: at(4 * time.Minute)}, got[0]); diff != "" {
		t.Errorf("finished build's span (-want +got):\n%s", diff)
	}
	for _, b := range got[1:] {
		// Closed when the template was deleted, not left open forever.
		if b.FinishedAt.IsZero() || b.FinishedAt.Before(before.Add(-time.Second)) || b.Team != "a" {
			t.Errorf("span of a build running when its template was deleted: %+v, want it ended then", b)
		}
	}
	other, err := st.ListBuildUsage(ctx, "b", at(0))
	if err != nil || len(other) != 1 || other[0].BuildID != "b4" || !other[0].FinishedAt.Equal(at(9*time.Minute)) {
		t.Errorf("team b's spans: %+v, %v; want b4 ended by the startup's failing", other, err)
	}
	// Spans that ended before since are left out.
	if got, err := st.ListBuildUsage(ctx, "a", at(5*time.Minute)); err != nil || len(got) != 2 || got[0].BuildID != "b2" {
		t.Errorf("team a's spans since 5 minutes: %+v, %v; want b2, b3", got, err)
	}
}
