package telemetry_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/builder"
	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/sqlite"
	"github.com/soulbox/soulbox/internal/telemetry"
)

func scrape(t *testing.T, m *telemetry.Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	b, _ := io.ReadAll(rec.Body)
	if rec.Code != 200 {
		t.Fatalf("scrape: %d %s", rec.Code, b)
	}
	return string(b)
}

// TestTeamMetrics: each team's live sandboxes by state and what its
// running ones were given, from a real store; past MaxTeamLabels teams
// the smallest are one "other" series, so the label stays bounded.
func TestTeamMetrics(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	add := func(id, team string, state store.SandboxState, cpus, mem int) {
		t.Helper()
		if err := st.CreateSandbox(ctx, store.Sandbox{ID: id, TemplateID: "base", ClientID: team, State: store.StateStarting, CPUCount: cpus, MemoryMB: mem}); err != nil {
			t.Fatal(err)
		}
		if state != store.StateStarting {
			if err := st.SetState(ctx, id, []store.SandboxState{store.StateStarting}, state, store.Event{Type: "started"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	add("a1", "team-a", store.StateRunning, 2, 512)
	add("a2", "team-a", store.StateRunning, 1, 256)
	add("a3", "team-a", store.StateStarting, 1, 256)
	add("b1", "team-b", store.StateRunning, 4, 1024)
	add("b2", "team-b", store.StateRunning, 1, 128)
	if err := st.EndSandbox(ctx, "b2", store.ReasonKilled, "", time.Time{}); err != nil {
		t.Fatal(err)
	}
	m := telemetry.New()
	if err := m.Register(telemetry.TeamCollector(st, slog.New(slog.DiscardHandler))); err != nil {
		t.Fatal(err)
	}
	text := scrape(t, m)
	for _, want := range []string{
		`soulbox_team_sandboxes{state="running",team="team-a"} 2`,
		`soulbox_team_sandboxes{state="starting",team="team-a"} 1`,
		`soulbox_team_sandboxes{state="running",team="team-b"} 1`,
		`soulbox_team_sandbox_cpus{team="team-a"} 4`,
		`soulbox_team_sandbox_cpus{team="team-b"} 4`,
		`soulbox_team_sandbox_memory_bytes{team="team-a"} 1.073741824e+09`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("no %s in\n%s", want, grepLines(text, "soulbox_team"))
		}
	}

	// Many teams: the label keeps MaxTeamLabels of them, the rest folded.
	for i := range telemetry.MaxTeamLabels + 10 {
		add(fmt.Sprintf("many-%03d", i), fmt.Sprintf("many-%03d", i), store.StateRunning, 1, 128)
	}
	teams := map[string]bool{}
	for _, l := range strings.Split(scrape(t, m), "\n") {
		if strings.HasPrefix(l, "soulbox_team_sandbox_cpus{") {
			teams[l[strings.Index(l, `team="`)+6:strings.LastIndex(l, `"`)]] = true
		}
	}
	if len(teams) != telemetry.MaxTeamLabels+1 || !teams[telemetry.OtherTeams] || !teams["team-a"] {
		t.Errorf("%d team labels (want %d and other, the largest kept): %v", len(teams), telemetry.MaxTeamLabels, teams)
	}
}

type fakeBuilder struct{ err error }

func (f fakeBuilder) Build(ctx context.Context, _ builder.Request, _ builder.Log) (builder.Result, error) {
	return builder.Result{}, f.err
}

// TestBuildDurations: every build is timed by how it ended.
func TestBuildDurations(t *testing.T) {
	m := telemetry.New()
	for _, err := range []error{nil, nil, errors.New("step 2 failed"), fmt.Errorf("stopping: %w", context.Canceled)} {
		m.Builder(fakeBuilder{err}).Build(context.Background(), builder.Request{ID: "b"}, nil)
	}
	text := scrape(t, m)
	for _, want := range []string{
		`soulbox_template_build_duration_seconds_count{outcome="ready"} 2`,
		`soulbox_template_build_duration_seconds_count{outcome="error"} 1`,
		`soulbox_template_build_duration_seconds_count{outcome="canceled"} 1`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("no %s in\n%s", want, grepLines(text, "build"))
		}
	}
}

func grepLines(text, s string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, s) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
