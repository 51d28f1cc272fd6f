package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
)

func (s *suite) testTemplates(t *testing.T) {
	t.Run("CreateGetByIDAndName", s.testTemplateCreateGet)
	t.Run("NamesUnique", s.testTemplateNamesUnique)
	t.Run("BuildLifecycle", s.testBuildLifecycle)
	t.Run("FailUnfinished", s.testFailUnfinished)
	t.Run("Logs", s.testBuildLogs)
	t.Run("Tags", s.testTags)
	t.Run("DeleteCascades", s.testTemplateDelete)
	t.Run("ListVisibility", s.testTemplateList)
	t.Run("Pool", s.testTemplatePool)
}

func newTemplate(id string, names ...string) store.Template {
	return store.Template{ID: id, Names: names, Team: "team-a", CPUCount: 2, MemoryMB: 512, CreatedAt: at(0), UpdatedAt: at(0)}
}

func newBuild(tid, id string) store.TemplateBuild {
	return store.TemplateBuild{ID: id, TemplateID: tid, Status: store.BuildWaiting, CPUCount: 2, MemoryMB: 512, CreatedAt: at(0), UpdatedAt: at(0)}
}

func (s *suite) testTemplateCreateGet(t *testing.T) {
	st, ctx := s.open(t), context.Background()
	want := newTemplate("tpl1", "py", "py-alias")
	if err := st.CreateTemplate(ctx, want); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"tpl1", "py", "py-alias"} {
		got, err := st.GetTemplate(ctx, key)
		if err != nil {
			t.Fatalf("get %q: %v", key, err)
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("get %q (-want +got):\n%s", key, d)
		}
	}
	if _, err := st.GetTemplate(ctx, "nope"); !errdefs.IsNotFound(err) {
		t.Errorf("unknown template: %v, want not found", err)
	}
}

func (s *suite) testTemplateNamesUnique(t *testing.T) {
	st, ctx := s.open(t), context.Background()
	if err := st.CreateTemplate(ctx, newTemplate("tpl1", "py")); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []store.Template{
		newTemplate("tpl1", "other"), // id taken
		newTemplate("tpl2", "py"),    // name taken
		newTemplate("tpl3", "tpl1"),  // name is another's id
	} {
		if err := st.CreateTemplate(ctx, tc); !errdefs.IsAlreadyExists(err) {
			t.Errorf("create %+v: %v, want already exists", tc, err)
		}
	}
	// Nothing of a refused template was stored.
	if _, err := st.GetTemplate(ctx, "tpl2"); !errdefs.IsNotFound(err) {
		t.Errorf("refused template tpl2 was stored: %v", err)
	}
	if _, err := st.GetTemplate(ctx, "other"); !errdefs.IsNotFound(err) {
		t.Errorf("name of a refused template was stored: %v", err)
	}
	for _, bad := range []store.Template{newTemplate("x", "a/b"), newTemplate("y", ".hidden"), newTemplate("z", "dup", "dup"), newTemplate("")} {
		if err := st.CreateTemplate(ctx, bad); !errdefs.IsInvalidArgument(err) {
			t.Errorf("create %+v: %v, want invalid argument", bad, err)
		}
	}
}

func (s *suite) testBuildLifecycle(t *testing.T) {
	st, ctx := s.open(t), context.Background()
	if err := st.CreateBuild(ctx, newBuild("missing", "b0")); !errdefs.IsNotFound(err) {
		t.Errorf("build of an unknown template: %v, want not found", err)
	}
	if err := st.CreateTemplate(ctx, newTemplate("tpl1", "py")); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateBuild(ctx, newBuild("tpl1", "b1")); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateBuild(ctx, newBuild("tpl1", "b1")); !errdefs.IsAlreadyExists(err) {
		t.Errorf("duplicate build: %v", err)
	}
	if err := st.StartBuild(ctx, "tpl1", "b1", `{"steps":[]}`, at(1*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := st.StartBuild(ctx, "tpl1", "b1", `{}`, at(1*time.Second)); !errdefs.IsFailedPrecondition(err) {
		t.Errorf("second start: %v, want failed precondition", err)
	}
	done := newBuild("tpl1", "b1")
	done.Status = store.BuildReady
	done.Layers = []string{"sha256-top", "sha256-bottom"}
	done.SizeBytes = 4096
	done.Env = map[string]string{"A": "1"}
	done.Workdir, done.User, done.StartCmd, done.ReadyCmd = "/app", "user", "srv", "curl x"
	if err := st.FinishBuild(ctx, done, []string{store.DefaultTag, "v1"}, at(2*time.Second)); err != nil {
		t.Fatal(err)
	}
	got, err := st.GetBuild(ctx, "tpl1", "b1")
	if err != nil {
		t.Fatal(err)
	}
	want := done
	want.Request = `{"steps":[]}`
	want.UpdatedAt, want.FinishedAt = at(2*time.Second), at(2*time.Second)
	// When it started building is kept: the team's build minutes count
	// from there.
	want.StartedAt = at(1 * time.Second)
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("finished build (-want +got):\n%s", d)
	}
	again := done
	again.Status = store.BuildError
	again.Reason = "late"
	if err := st.FinishBuild(ctx, again, nil, at(3*time.Second)); !errdefs.IsFailedPrecondition(err) {
		t.Errorf("finishing a finished build: %v, want failed precondition", err)
	}
	if got, _ := st.GetBuild(ctx, "tpl1", "b1"); got.Status != store.BuildReady {
		t.Errorf("refused finish changed the build to %s", got.Status)
	}
	if _, err := st.GetBuild(ctx, "other", "b1"); !errdefs.IsNotFound(err) {
		t.Errorf("build under the wrong template: %v, want not found", err)
	}
	builds, err := st.ListBuilds(ctx, "tpl1")
	if err != nil || len(builds) != 1 {
		t.Errorf("list builds: %d, %v", len(builds), err)
	}
}

func (s *suite) testFailUnfinished(t *testing.T) {
	st, ctx := s.open(t), context.Background()
	if err := st.CreateTemplate(ctx, newTemplate("tpl1", "py")); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"w", "b", "r"} {
		if err := st.CreateBuild(ctx, newBuild("tpl1", id)); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.StartBuild(ctx, "tpl1", "b", "{}", at(1*time.Second)); err != nil {
		t.Fatal(err)
	}
	ready := newBuild("tpl1", "r")
	ready.Status = store.BuildReady
	if err := st.FinishBuild(ctx, ready, nil, at(1*time.Second)); err != nil {
		t.Fatal(err)
	}
	n, err := st.FailUnfinishedBuilds(ctx, "the server stopped during the build", at(5*time.Second))
	if err != nil || n != 2 {
		t.Fatalf("fail unfinished: %d, %v; want 2", n, err)
	}
	for id, want := range map[string]store.BuildStatus{"w": store.BuildError, "b": store.BuildError, "r": store.BuildReady} {
		b, _ := st.GetBuild(ctx, "tpl1", id)
		if b.Status != want {
			t.Errorf("build %s: %s, want %s", id, b.Status, want)
		}
		if want == store.BuildError && (b.Reason != "the server stopped during the build" || !b.FinishedAt.Equal(at(5*time.Second))) {
			t.Errorf("build %s: reason %q at %v", id, b.Reason, b.FinishedAt)
		}
	}
}

func (s *suite) testBuildLogs(t *testing.T) {
	st, ctx := s.open(t), context.Background()
	if err := st.CreateTemplate(ctx, newTemplate("tpl1")); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateBuild(ctx, newBuild("tpl1", "b1")); err != nil {
		t.Fatal(err)
	}
	var all []store.BuildLogEntry
	for i := range 5 {
		e := store.BuildLogEntry{Time: at(0), Level: "info", Step: "1", Message: string(rune('a' + i))}
		all = append(all, e)
		if err := st.AppendBuildLogs(ctx, "b1", []store.BuildLogEntry{e}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := st.BuildLogs(ctx, "b1", 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(all[2:4], got); d != "" {
		t.Errorf("logs from offset 2 (-want +got):\n%s", d)
	}
	if got, _ := st.BuildLogs(ctx, "b1", 5, 10); len(got) != 0 {
		t.Errorf("logs past the end: %v", got)
	}
	if _, err := st.BuildLogs(ctx, "b1", -1, 10); !errdefs.IsInvalidArgument(err) {
		t.Errorf("negative offset: %v", err)
	}
	if err := st.AppendBuildLogs(ctx, "nope", all[:1]); !errdefs.IsNotFound(err) {
		t.Errorf("logs of an unknown build: %v, want not found", err)
	}
}

func (s *suite) testTags(t *testing.T) {
	st, ctx := s.open(t), context.Background()
	if err := st.CreateTemplate(ctx, newTemplate("tpl1", "py")); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"b1", "b2"} {
		if err := st.CreateBuild(ctx, newBuild("tpl1", id)); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.SetTags(ctx, "tpl1", "b1", []string{"v1"}, at(1*time.Second)); !errdefs.IsFailedPrecondition(err) {
		t.Errorf("tagging an unfinished build: %v, want failed precondition", err)
	}
	b1 := newBuild("tpl1", "b1")
	b1.Status = store.BuildReady
	if err := st.FinishBuild(ctx, b1, []string{"default"}, at(1*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := st.SetTags(ctx, "tpl1", "b1", []string{"v1", "stable"}, at(2*time.Second)); err != nil {
		t.Fatal(err)
	}
	b2 := newBuild("tpl1", "b2")
	b2.Status = store.BuildReady
	if err := st.FinishBuild(ctx, b2, []string{"default", "v2"}, at(3*time.Second)); err != nil {
		t.Fatal(err)
	}
	tags, err := st.ListTags(ctx, "tpl1")
	if err != nil {
		t.Fatal(err)
	}
	want := []store.TemplateTag{
		{TemplateID: "tpl1", Tag: "default", BuildID: "b2", CreatedAt: at(3 * time.Second)},
		{TemplateID: "tpl1", Tag: "stable", BuildID: "b1", CreatedAt: at(2 * time.Second)},
		{TemplateID: "tpl1", Tag: "v1", BuildID: "b1", CreatedAt: at(2 * time.Second)},
		{TemplateID: "tpl1", Tag: "v2", BuildID: "b2", CreatedAt: at(3 * time.Second)},
	}
	if d := cmp.Diff(want, tags); d != "" {
		t.Errorf("tags (-want +got):\n%s", d)
	}
	if err := st.DeleteTags(ctx, "tpl1", []string{"stable", "nope"}); !errdefs.IsNotFound(err) {
		t.Errorf("deleting an unknown tag: %v, want not found", err)
	}
	if tags, _ := st.ListTags(ctx, "tpl1"); len(tags) != 4 {
		t.Errorf("a refused delete removed tags: %v", tags)
	}
	if err := st.DeleteTags(ctx, "tpl1", []string{"stable"}); err != nil {
		t.Fatal(err)
	}
	if err := st.SetTags(ctx, "tpl1", "b1", []string{"bad/tag"}, at(4*time.Second)); !errdefs.IsInvalidArgument(err) {
		t.Errorf("bad tag: %v", err)
	}
}

func (s *suite) testTemplateDelete(t *testing.T) {
	st, ctx := s.open(t), context.Background()
	if err := st.CreateTemplate(ctx, newTemplate("tpl1", "py")); err != nil {
		t.Fatal(err)
	}
	b := newBuild("tpl1", "b1")
	if err := st.CreateBuild(ctx, b); err != nil {
		t.Fatal(err)
	}
	if err := st.AppendBuildLogs(ctx, "b1", []store.BuildLogEntry{{Level: "info", Message: "x"}}); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteTemplate(ctx, "tpl1"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.GetTemplate(ctx, "py"); !errdefs.IsNotFound(err) {
		t.Errorf("name survived the delete: %v", err)
	}
	if _, err := st.GetBuild(ctx, "tpl1", "b1"); !errdefs.IsNotFound(err) {
		t.Errorf("build survived the delete: %v", err)
	}
	if err := st.DeleteTemplate(ctx, "tpl1"); !errdefs.IsNotFound(err) {
		t.Errorf("second delete: %v, want not found", err)
	}
	// The name is free again.
	if err := st.CreateTemplate(ctx, newTemplate("tpl2", "py")); err != nil {
		t.Errorf("reusing a deleted template's name: %v", err)
	}
}

func (s *suite) testTemplateList(t *testing.T) {
	st, ctx := s.open(t), context.Background()
	a := newTemplate("a", "a-name")
	b := newTemplate("b", "b-name")
	b.Team, b.CreatedAt = "team-b", at(1*time.Second)
	c := newTemplate("c", "c-name")
	c.Team, c.CreatedAt = "team-c", at(2*time.Second)
	for _, tpl := range []store.Template{a, b, c} {
		if err := st.CreateTemplate(ctx, tpl); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.SetTemplatePublic(ctx, "c", true, at(3*time.Second)); err != nil {
		t.Fatal(err)
	}
	ids := func(team string) []string {
		l, err := st.ListTemplates(ctx, team)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, x := range l {
			out = append(out, x.ID)
		}
		return out
	}
	if d := cmp.Diff([]string{"a", "c"}, ids("team-a")); d != "" {
		t.Errorf("team-a sees (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"a", "b", "c"}, ids("")); d != "" {
		t.Errorf("everyone (-want +got):\n%s", d)
	}
	if err := st.SetTemplatePublic(ctx, "nope", true, at(3*time.Second)); !errdefs.IsNotFound(err) {
		t.Errorf("unknown template: %v", err)
	}
}

func (s *suite) testTemplatePool(t *testing.T) {
	st, ctx := s.open(t), context.Background()
	if err := st.CreateTemplate(ctx, newTemplate("tpl1", "py")); err != nil {
		t.Fatal(err)
	}
	want := &store.TemplatePool{Min: 2, Max: 5, Prewarm: []string{"python"}}
	if err := st.SetTemplatePool(ctx, "tpl1", want, at(time.Second)); err != nil {
		t.Fatal(err)
	}
	got, err := st.GetTemplate(ctx, "py")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, got.Pool); d != "" {
		t.Errorf("pool (-want +got):\n%s", d)
	}
	if !got.UpdatedAt.Equal(at(time.Second)) {
		t.Errorf("updated at %v", got.UpdatedAt)
	}
	if l, err := st.ListTemplates(ctx, ""); err != nil || len(l) != 1 || l[0].Pool == nil || l[0].Pool.Max != 5 {
		t.Errorf("listed %+v, %v", l, err)
	}
	if err := st.SetTemplatePool(ctx, "tpl1", nil, at(2*time.Second)); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.GetTemplate(ctx, "tpl1"); got.Pool != nil {
		t.Errorf("cleared pool reads back as %+v", got.Pool)
	}
	if err := st.SetTemplatePool(ctx, "nope", want, at(time.Second)); !errdefs.IsNotFound(err) {
		t.Errorf("unknown template: %v", err)
	}
}
