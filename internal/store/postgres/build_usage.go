package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/sqlrow"
)

// ListBuildUsage implements store.Templates.
func (s *Store) ListBuildUsage(ctx context.Context, team string, since time.Time) ([]store.BuildSpan, error) {
	if err := store.ValidateText("team", team); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT build_id, team, started_at, finished_at FROM build_usage
		WHERE team = $1 AND (finished_at IS NULL OR finished_at >= $2) ORDER BY started_at, build_id COLLATE "C"`, team, sqlrow.Time(since))
	if err != nil {
		return nil, fmt.Errorf("build usage of team %q: %w", team, err)
	}
	defer rows.Close()
	var out []store.BuildSpan
	for rows.Next() {
		var b store.BuildSpan
		var started int64
		var finished sql.NullInt64
		if err := rows.Scan(&b.BuildID, &b.Team, &started, &finished); err != nil {
			return nil, fmt.Errorf("build usage of team %q: %w", team, err)
		}
		b.StartedAt, b.FinishedAt = sqlrow.FromTime(started), sqlrow.FromNullTime(finished)
		out = append(out, b)
	}
	return out, rows.Err()
}

// openBuildSpan records in the build-usage ledger that a build of
// templateID started at now, for the template's team, and sweeps the
// spans that left the window.
func openBuildSpan(ctx context.Context, tx pgx.Tx, templateID, buildID string, now int64) error {
	if _, err := tx.Exec(ctx, `INSERT INTO build_usage (build_id, team, started_at)
		SELECT $1, team, $2 FROM templates WHERE id = $3 ON CONFLICT (build_id) DO NOTHING`, buildID, now, templateID); err != nil {
		return fmt.Errorf("build %q: record its usage: %w", buildID, err)
	}
	if _, err := tx.Exec(ctx, `DELETE FROM build_usage WHERE finished_at < $1`, now-store.BuildWindow.Microseconds()); err != nil {
		return fmt.Errorf("sweep build usage: %w", err)
	}
	return nil
}

// closeBuildSpans ends at now the open ledger spans of the builds
// template_builds rows matching where (with args, numbered from $2)
// name.
func closeBuildSpans(ctx context.Context, tx pgx.Tx, now int64, where string, args ...any) error {
	if _, err := tx.Exec(ctx, `UPDATE build_usage SET finished_at = $1 WHERE finished_at IS NULL
		AND build_id IN (SELECT id FROM template_builds WHERE `+where+`)`, append([]any{now}, args...)...); err != nil {
		return fmt.Errorf("record build usage: %w", err)
	}
	return nil
}
