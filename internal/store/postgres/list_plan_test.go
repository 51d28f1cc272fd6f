package postgres

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/postgres/pgtest"
)

// TestListTeamSandboxesReadsOnlyThem: listing a team's running
// sandboxes by a metadata pair that its history of ended sandboxes
// shares does not look up every sandbox that ever had the pair.
func TestListTeamSandboxesReadsOnlyThem(t *testing.T) {
	ctx := context.Background()
	s := openURL(t, pgtest.Start(t).NewDatabase(t))
	const running, ended = 20, 5000
	for n := range running {
		sb := store.Sandbox{ID: fmt.Sprintf("sb%05d", n), TemplateID: "base", ClientID: "t", State: store.StateRunning,
			EndAt: time.Now().Add(time.Hour), Metadata: map[string]string{"user": "u"}}
		if err := s.CreateSandbox(ctx, sb); err != nil {
			t.Fatal(err)
		}
	}
	// The team's history: ended copies of the first, with the same pair.
	if _, err := s.pool.Exec(ctx, `INSERT INTO sandboxes
		SELECT (jsonb_populate_record(s, jsonb_build_object('id', 'ended' || g, 'state', 'ended', 'end_reason', 'killed', 'ended_at', s.created_at))).*
		FROM sandboxes s, generate_series(1, $1) g WHERE s.id = 'sb00000'`, ended); err != nil {
		t.Fatal(err)
	}
	if _, err := s.pool.Exec(ctx, `INSERT INTO sandbox_metadata (sandbox_id, name, value)
		SELECT 'ended' || g, 'user', 'u' FROM generate_series(1, $1) g`, ended); err != nil {
		t.Fatal(err)
	}
	f := store.SandboxFilter{Team: "t", States: []store.SandboxState{store.StateStarting, store.StateRunning, store.StatePausing},
		Metadata: map[string]string{"user": "u"}}
	got, err := s.ListSandboxes(ctx, f)
	if err != nil || len(got) != running {
		t.Fatalf("listed %d sandboxes, %v; want %d", len(got), err, running)
	}

	query, args := listQuery(f)
	rows, err := s.pool.Query(ctx, "EXPLAIN ANALYZE "+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	var plan strings.Builder
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		plan.WriteString(line + "\n")
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	// The planner, before statistics are gathered (a young database, a
	// burst of creates before autovacuum's next pass), started from the
	// pair's index and looked each of the 5,020 sandboxes up in turn.
	// Taken by team and state first, no step repeats more than once per
	// running sandbox.
	for _, m := range regexp.MustCompile(`actual time=[0-9.]+\.\.[0-9.]+ rows=\d+ loops=(\d+)`).FindAllStringSubmatch(plan.String(), -1) {
		if loops, _ := strconv.Atoi(m[1]); loops > running {
			t.Fatalf("the list repeats a step %d times for %d running sandboxes:\n%s", loops, running, plan.String())
		}
	}
}
