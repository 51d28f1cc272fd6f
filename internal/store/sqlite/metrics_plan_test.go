package sqlite

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestMetricsQueriesUseIndexes: pruning the history by age and reading a
// team's sandbox spans search an index instead of reading the whole
// table, so their cost follows what they touch, not the table's size.
func TestMetricsQueriesUseIndexes(t *testing.T) {
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
	for _, tc := range []struct {
		name, query string
		args        []any
	}{
		{"prune", pruneMetricsQuery, []any{1}},
		{"team spans", sandboxSpansQuery, []any{"t", 2, "t", 1, 2}},
	} {
		p := plan(tc.query, tc.args...)
		if strings.Contains(p, "SCAN sandbox") || !strings.Contains(p, "USING INDEX") && !strings.Contains(p, "USING COVERING INDEX") {
			t.Errorf("%s reads a whole table:\n%s", tc.name, p)
		}
	}
}
