package sqlite

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/soulbox/soulbox/internal/store"
)

// TestQueriesUseIndexes: pruning the history by age, reading a team's
// sandbox spans and listing a team's live sandboxes search an index
// instead of reading the whole table, or the team's whole history of
// ended sandboxes, so their cost follows what they touch, not the
// table's size.
func TestQueriesUseIndexes(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	plan := func(query string, args ...any) string {
		rows, err := s.r.QueryContext(ctx, "EXPLAIN QUERY PLAN "+query, args...)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var b strings.Builder
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			b.WriteString(detail + "\n")
		}
		return b.String()
	}
	running := []store.SandboxState{store.StateStarting, store.StateRunning, store.StatePausing}
	apiList, apiArgs := listQuery(store.SandboxFilter{Team: "t", States: running, Metadata: map[string]string{"k": "v"}})
	quota, quotaArgs := listQuery(store.SandboxFilter{Team: "t", States: store.LiveStates})
	for _, tc := range []struct {
		name, query string
		args        []any
		// want are the indexes the plan must search, in its order.
		want []string
	}{
		{"prune", pruneMetricsQuery, []any{1}, nil},
		{"team spans", sandboxSpansQuery, []any{"t", 2, "t", 1, 2}, []string{"sandboxes_client_ended", "sandboxes_client_ended"}},
		{"a team's running sandboxes by metadata (the API's list)", apiList, apiArgs, []string{"sandboxes_client_state"}},
		{"a team's live sandboxes (the quota check)", quota, quotaArgs, []string{"sandboxes_client_state"}},
		{"one sandbox", selectSandboxes(sandboxesTable, `s.id = ?`), []any{"x"}, []string{"sqlite_autoindex_sandboxes_1"}},
	} {
		p := plan(tc.query, tc.args...)
		if strings.Contains(p, "SCAN sandbox") || !strings.Contains(p, "USING INDEX") && !strings.Contains(p, "USING COVERING INDEX") {
			t.Errorf("%s reads a whole table:\n%s", tc.name, p)
		}
		if strings.Contains(p, "sandboxes_client_created") {
			t.Errorf("%s reads the team's sandboxes by creation, its whole history:\n%s", tc.name, p)
		}
		rest := p
		for _, idx := range tc.want {
			i := strings.Index(rest, "INDEX "+idx+" ")
			if i < 0 {
				t.Errorf("%s does not search %s where expected:\n%s", tc.name, idx, p)
				break
			}
			rest = rest[i+len(idx):]
		}
	}
}
