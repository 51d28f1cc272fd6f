package storetest

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
)

// testText: texts with NUL characters or invalid UTF-8, which PostgreSQL
// cannot keep and SQLite can. What a client names is refused alike on
// every backend; what processes write (event and end messages, build logs
// and reasons) is kept, repaired the same way on every backend.
func (s *suite) testText(t *testing.T) {
	st, ctx := s.open(t), context.Background()
	const (
		dirty = "bad\x00 \xff end"
		clean = "bad \uFFFD end"
	)

	t.Run("Refused", func(t *testing.T) {
		if err := st.CreateTemplate(ctx, newTemplate("tpl-ok")); err != nil {
			t.Fatal(err)
		}
		bad := newTemplate("tpl-team")
		bad.Team = "team\x00"
		okKey := store.APIKey{ID: "k1", Name: "ci", Prefix: "e2b_12", Hash: "00ff", Team: "team-a", CreatedAt: t0}
		badKey := okKey
		badKey.Name = "ci\x00"
		badBuild := newBuild("tpl-ok", "b-bad")
		badBuild.StartCmd = "python\x00 app.py"
		for name, err := range map[string]error{
			"CreateTemplateTeam": st.CreateTemplate(ctx, bad),
			"CreateTemplateID":   st.CreateTemplate(ctx, newTemplate("tpl\x00")),
			"GetTemplate":        second(st.GetTemplate(ctx, "tpl-ok\x00")),
			"ListTemplates":      second(st.ListTemplates(ctx, "\xff")),
			"DeleteTemplate":     st.DeleteTemplate(ctx, "tpl-ok\x00"),
			"CreateBuild":        st.CreateBuild(ctx, badBuild),
			"GetBuild":           second(st.GetBuild(ctx, "tpl-ok", "b\x00")),
			"ListTags":           second(st.ListTags(ctx, "tpl-ok\x00")),
			"DeleteTags":         st.DeleteTags(ctx, "tpl-ok", []string{"t\x00"}),
			"CreateAPIKey":       st.CreateAPIKey(ctx, badKey),
			"APIKeyByHash":       second(st.APIKeyByHash(ctx, "00\x00")),
			"RevokeAPIKey":       st.RevokeAPIKey(ctx, "k\x00", t0),
		} {
			wantErr(t, err, errdefs.ErrInvalidArgument, name)
		}
		if _, err := st.GetTemplate(ctx, "tpl-team"); !errdefs.IsNotFound(err) {
			t.Errorf("refused template was stored: %v", err)
		}
		if n, err := st.CountAPIKeys(ctx); err != nil || n != 0 {
			t.Errorf("refused key was stored: %d keys, %v", n, err)
		}
	})

	t.Run("Repaired", func(t *testing.T) {
		sb := sandbox("text")
		mustCreate(t, st, sb)
		if err := st.SetState(ctx, sb.ID, fromStarting, store.StateRunning, store.Event{Type: store.EventStarted, Message: dirty}); err != nil {
			t.Fatalf("set state with a process's message: %v", err)
		}
		if err := st.EndSandbox(ctx, sb.ID, store.ReasonError, dirty, at(1)); err != nil {
			t.Fatalf("end with a process's message: %v", err)
		}
		if got := mustGet(t, st, sb.ID).EndMessage; got != clean {
			t.Errorf("end message %q, want %q", got, clean)
		}
		evs := mustEvents(t, st, sb.ID)
		var msgs []string
		for _, e := range evs[1:] {
			msgs = append(msgs, e.Message)
		}
		if want := []string{clean, "error: " + clean}; !cmp.Equal(msgs, want) {
			t.Errorf("event messages %q, want %q", msgs, want)
		}

		if err := st.CreateTemplate(ctx, newTemplate("tpl-logs")); err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{"b1", "b2"} {
			if err := st.CreateBuild(ctx, newBuild("tpl-logs", id)); err != nil {
				t.Fatal(err)
			}
		}
		entry := store.BuildLogEntry{Time: at(0), Level: "info", Step: "0\x00", Message: dirty}
		if err := st.AppendBuildLogs(ctx, "b1", []store.BuildLogEntry{entry}); err != nil {
			t.Fatalf("append a process's output: %v", err)
		}
		logs, err := st.BuildLogs(ctx, "b1", 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		want := []store.BuildLogEntry{{Time: at(0), Level: "info", Step: "0", Message: clean}}
		if d := cmp.Diff(want, logs); d != "" {
			t.Errorf("build log (-want +got):\n%s", d)
		}
		failed := newBuild("tpl-logs", "b1")
		failed.Status, failed.Reason, failed.ReasonStep = store.BuildError, dirty, "1\xff"
		if err := st.FinishBuild(ctx, failed, nil, at(2)); err != nil {
			t.Fatalf("finish with a process's reason: %v", err)
		}
		if n, err := st.FailUnfinishedBuilds(ctx, dirty, at(3)); err != nil || n != 1 {
			t.Fatalf("fail unfinished with a dirty reason: %d, %v", n, err)
		}
		for id, want := range map[string][2]string{"b1": {clean, "1\uFFFD"}, "b2": {clean, ""}} {
			b, err := st.GetBuild(ctx, "tpl-logs", id)
			if err != nil {
				t.Fatal(err)
			}
			if b.Reason != want[0] || b.ReasonStep != want[1] {
				t.Errorf("build %s: reason %q step %q, want %q %q", id, b.Reason, b.ReasonStep, want[0], want[1])
			}
		}
	})
}

// second is the error of a two-valued call.
func second[T any](_ T, err error) error { return err }
