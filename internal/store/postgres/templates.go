package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/sqlrow"
)

// CreateTemplate implements store.Templates.
func (s *Store) CreateTemplate(ctx context.Context, t store.Template) error {
	if err := store.ValidateTemplate(t); err != nil {
		return err
	}
	created := s.orNow(t.CreatedAt)
	return s.write(ctx, func(tx pgx.Tx) error {
		res, err := tx.Exec(ctx, `INSERT INTO templates (id, team, public, cpu_count, memory_mb, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
			t.ID, t.Team, t.Public, t.CPUCount, t.MemoryMB, sqlrow.Time(created), sqlrow.Time(created))
		if err != nil {
			return fmt.Errorf("template %q: insert: %w", t.ID, err)
		}
		if res.RowsAffected() == 0 {
			return fmt.Errorf("template %q: %w", t.ID, errdefs.ErrAlreadyExists)
		}
		for i, name := range t.Names {
			if err := insertName(ctx, tx, t.ID, name, i); err != nil {
				return err
			}
		}
		return nil
	})
}

func insertName(ctx context.Context, tx pgx.Tx, id, name string, pos int) error {
	// A name may not be another template's id either, or lookups by id or
	// name would be ambiguous.
	var n int
	if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM templates WHERE id = $1 AND id != $2`, name, id).Scan(&n); err != nil {
		return fmt.Errorf("template name %q: %w", name, err)
	}
	if n > 0 {
		return fmt.Errorf("template name %q is taken by another template: %w", name, errdefs.ErrAlreadyExists)
	}
	res, err := tx.Exec(ctx, `INSERT INTO template_names (name, template_id, position) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, name, id, pos)
	if err != nil {
		return fmt.Errorf("template name %q: insert: %w", name, err)
	}
	if res.RowsAffected() == 0 {
		return fmt.Errorf("template name %q is taken: %w", name, errdefs.ErrAlreadyExists)
	}
	return nil
}

func (s *Store) templateNames(ctx context.Context, id string) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT name FROM template_names WHERE template_id = $1 ORDER BY position, name COLLATE "C"`, id)
	if err != nil {
		return nil, fmt.Errorf("template %q: names: %w", id, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// GetTemplate implements store.Templates.
func (s *Store) GetTemplate(ctx context.Context, idOrName string) (store.Template, error) {
	if err := store.ValidateText("template", idOrName); err != nil {
		return store.Template{}, err
	}
	t, err := sqlrow.ScanTemplate(s.pool.QueryRow(ctx, `SELECT `+sqlrow.TemplateColumns+` FROM templates
		WHERE id = $1 OR id = (SELECT template_id FROM template_names WHERE name = $1)`, idOrName))
	if errors.Is(err, pgx.ErrNoRows) {
		return t, fmt.Errorf("template %q: %w", idOrName, errdefs.ErrNotFound)
	}
	if err != nil {
		return t, fmt.Errorf("template %q: %w", idOrName, err)
	}
	if t.Names, err = s.templateNames(ctx, t.ID); err != nil {
		return t, err
	}
	return t, nil
}

// ListTemplates implements store.Templates.
func (s *Store) ListTemplates(ctx context.Context, team string) ([]store.Template, error) {
	if err := store.ValidateText("team", team); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT `+sqlrow.TemplateColumns+` FROM templates
		WHERE $1 = '' OR team = $1 OR public ORDER BY created_at, id COLLATE "C"`, team)
	if err != nil {
		return nil, fmt.Errorf("list templates: %w", err)
	}
	var out []store.Template
	for rows.Next() {
		t, err := sqlrow.ScanTemplate(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("list templates: %w", err)
		}
		out = append(out, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list templates: %w", err)
	}
	for i := range out {
		if out[i].Names, err = s.templateNames(ctx, out[i].ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// SetTemplatePublic implements store.Templates.
func (s *Store) SetTemplatePublic(ctx context.Context, id string, public bool, at time.Time) error {
	if err := store.ValidateText("template id", id); err != nil {
		return err
	}
	return s.write(ctx, func(tx pgx.Tx) error {
		res, err := tx.Exec(ctx, `UPDATE templates SET public = $1, updated_at = $2 WHERE id = $3`, public, sqlrow.Time(s.orNow(at)), id)
		if err != nil {
			return fmt.Errorf("template %q: update: %w", id, err)
		}
		if res.RowsAffected() == 0 {
			return fmt.Errorf("template %q: %w", id, errdefs.ErrNotFound)
		}
		return nil
	})
}

// SetTemplatePool implements store.Templates.
func (s *Store) SetTemplatePool(ctx context.Context, id string, pool *store.TemplatePool, at time.Time) error {
	if err := store.ValidateText("template id", id); err != nil {
		return err
	}
	var val sql.NullString
	if pool != nil {
		b, err := json.Marshal(pool)
		if err != nil {
			return fmt.Errorf("template %q: pool: %w", id, err)
		}
		val = sql.NullString{String: string(b), Valid: true}
	}
	return s.write(ctx, func(tx pgx.Tx) error {
		res, err := tx.Exec(ctx, `UPDATE templates SET pool = $1, updated_at = $2 WHERE id = $3`, val, sqlrow.Time(s.orNow(at)), id)
		if err != nil {
			return fmt.Errorf("template %q: update pool: %w", id, err)
		}
		if res.RowsAffected() == 0 {
			return fmt.Errorf("template %q: %w", id, errdefs.ErrNotFound)
		}
		return nil
	})
}

// DeleteTemplate implements store.Templates.
func (s *Store) DeleteTemplate(ctx context.Context, id string) error {
	if err := store.ValidateText("template id", id); err != nil {
		return err
	}
	return s.write(ctx, func(tx pgx.Tx) error {
		// The builds' rows first, the lock FinishBuild and
		// AppendBuildLogs take first too: a build whose end is recorded
		// meanwhile (a cancelled one) waits for the delete, or the delete
		// for it, instead of each holding what the other needs (the
		// build's row, its usage span) until PostgreSQL aborts one.
		if _, err := tx.Exec(ctx, `SELECT 1 FROM template_builds WHERE template_id = $1 ORDER BY id FOR UPDATE`, id); err != nil {
			return fmt.Errorf("template %q: delete: %w", id, err)
		}
		// A build that still runs stops counting now: its row goes.
		if err := closeBuildSpans(ctx, tx, sqlrow.Time(s.now()), `template_id = $2`, id); err != nil {
			return err
		}
		res, err := tx.Exec(ctx, `DELETE FROM templates WHERE id = $1`, id)
		if err != nil {
			return fmt.Errorf("template %q: delete: %w", id, err)
		}
		if res.RowsAffected() == 0 {
			return fmt.Errorf("template %q: %w", id, errdefs.ErrNotFound)
		}
		return nil
	})
}

// CreateBuild implements store.Templates.
func (s *Store) CreateBuild(ctx context.Context, b store.TemplateBuild) error {
	if err := store.ValidateBuild(b); err != nil {
		return err
	}
	created := s.orNow(b.CreatedAt)
	layers, env, err := encodeResult(b)
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx pgx.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM templates WHERE id = $1`, b.TemplateID).Scan(&n); err != nil {
			return fmt.Errorf("build %q: %w", b.ID, err)
		}
		if n == 0 {
			return fmt.Errorf("template %q: %w", b.TemplateID, errdefs.ErrNotFound)
		}
		res, err := tx.Exec(ctx, `INSERT INTO template_builds (id, template_id, status, reason, reason_step, cpu_count, memory_mb,
			request, layers, size_bytes, env, workdir, user_name, start_cmd, ready_cmd, source, created_at, updated_at, finished_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19) ON CONFLICT DO NOTHING`,
			b.ID, b.TemplateID, b.Status, b.Reason, b.ReasonStep, b.CPUCount, b.MemoryMB, b.Request, layers, b.SizeBytes,
			env, b.Workdir, b.User, b.StartCmd, b.ReadyCmd, b.Source, sqlrow.Time(created), sqlrow.Time(created), sqlrow.NullTime(b.FinishedAt))
		if err != nil {
			return fmt.Errorf("build %q: insert: %w", b.ID, err)
		}
		if res.RowsAffected() == 0 {
			return fmt.Errorf("build %q: %w", b.ID, errdefs.ErrAlreadyExists)
		}
		return nil
	})
}

func encodeResult(b store.TemplateBuild) (layers, env string, err error) {
	l := b.Layers
	if l == nil {
		l = []string{}
	}
	lb, err := json.Marshal(l)
	if err != nil {
		return "", "", fmt.Errorf("build %q: layers: %w", b.ID, err)
	}
	e := b.Env
	if e == nil {
		e = map[string]string{}
	}
	eb, err := json.Marshal(e)
	if err != nil {
		return "", "", fmt.Errorf("build %q: env: %w", b.ID, err)
	}
	return string(lb), string(eb), nil
}

// GetBuild implements store.Templates.
func (s *Store) GetBuild(ctx context.Context, templateID, buildID string) (store.TemplateBuild, error) {
	if err := store.ValidateText("template id", templateID); err != nil {
		return store.TemplateBuild{}, err
	}
	if err := store.ValidateText("build id", buildID); err != nil {
		return store.TemplateBuild{}, err
	}
	b, err := sqlrow.ScanBuild(s.pool.QueryRow(ctx, `SELECT `+sqlrow.BuildColumns+` FROM template_builds WHERE id = $1 AND template_id = $2`, buildID, templateID))
	if errors.Is(err, pgx.ErrNoRows) {
		return b, fmt.Errorf("build %q of template %q: %w", buildID, templateID, errdefs.ErrNotFound)
	}
	if err != nil {
		return b, fmt.Errorf("build %q: %w", buildID, err)
	}
	return b, nil
}

// ListBuilds implements store.Templates.
func (s *Store) ListBuilds(ctx context.Context, templateID string) ([]store.TemplateBuild, error) {
	if err := store.ValidateText("template id", templateID); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT `+sqlrow.BuildColumns+` FROM template_builds WHERE template_id = $1 ORDER BY created_at, id COLLATE "C"`, templateID)
	if err != nil {
		return nil, fmt.Errorf("list builds: %w", err)
	}
	defer rows.Close()
	var out []store.TemplateBuild
	for rows.Next() {
		b, err := sqlrow.ScanBuild(rows)
		if err != nil {
			return nil, fmt.Errorf("list builds: %w", err)
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// StartBuild implements store.Templates.
func (s *Store) StartBuild(ctx context.Context, templateID, buildID, request string, at time.Time) error {
	if err := store.ValidateText("template id", templateID); err != nil {
		return err
	}
	if err := store.ValidateText("build id", buildID); err != nil {
		return err
	}
	if err := store.ValidateText("build request", request); err != nil {
		return err
	}
	now := sqlrow.Time(s.orNow(at))
	return s.write(ctx, func(tx pgx.Tx) error {
		res, err := tx.Exec(ctx, `UPDATE template_builds SET status = $1, request = $2, updated_at = $3, started_at = $3
			WHERE id = $4 AND template_id = $5 AND status = $6`,
			store.BuildBuilding, request, now, buildID, templateID, store.BuildWaiting)
		if err != nil {
			return fmt.Errorf("build %q: start: %w", buildID, err)
		}
		if res.RowsAffected() == 1 {
			return openBuildSpan(ctx, tx, templateID, buildID, now)
		}
		return buildStateError(ctx, tx, templateID, buildID, "started")
	})
}

// buildStateError says why a build could not change state.
func buildStateError(ctx context.Context, tx pgx.Tx, templateID, buildID, what string) error {
	var status string
	err := tx.QueryRow(ctx, `SELECT status FROM template_builds WHERE id = $1 AND template_id = $2`, buildID, templateID).Scan(&status)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("build %q of template %q: %w", buildID, templateID, errdefs.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("build %q: %w", buildID, err)
	}
	return fmt.Errorf("build %q is %s and cannot be %s: %w", buildID, status, what, errdefs.ErrFailedPrecondition)
}

// FinishBuild implements store.Templates.
func (s *Store) FinishBuild(ctx context.Context, b store.TemplateBuild, tags []string, at time.Time) error {
	if !b.Status.Finished() {
		return fmt.Errorf("build %q: status %q is not final: %w", b.ID, b.Status, errdefs.ErrInvalidArgument)
	}
	for _, t := range tags {
		if err := store.ValidateTag(t); err != nil {
			return err
		}
	}
	if err := store.ValidateBuildTexts(b); err != nil {
		return err
	}
	// Why a build failed is the builder's and its processes' words.
	b.Reason, b.ReasonStep = store.SanitizeText(b.Reason), store.SanitizeText(b.ReasonStep)
	layers, env, err := encodeResult(b)
	if err != nil {
		return err
	}
	now := sqlrow.Time(s.orNow(at))
	return s.write(ctx, func(tx pgx.Tx) error {
		res, err := tx.Exec(ctx, `UPDATE template_builds SET status = $1, reason = $2, reason_step = $3, layers = $4, size_bytes = $5,
			env = $6, workdir = $7, user_name = $8, start_cmd = $9, ready_cmd = $10, updated_at = $11, finished_at = $12
			WHERE id = $13 AND template_id = $14 AND status IN ($15, $16)`,
			b.Status, b.Reason, b.ReasonStep, layers, b.SizeBytes, env, b.Workdir, b.User, b.StartCmd, b.ReadyCmd, now, now,
			b.ID, b.TemplateID, store.BuildWaiting, store.BuildBuilding)
		if err != nil {
			return fmt.Errorf("build %q: finish: %w", b.ID, err)
		}
		if res.RowsAffected() == 0 {
			return buildStateError(ctx, tx, b.TemplateID, b.ID, "finished")
		}
		if err := closeBuildSpans(ctx, tx, now, `id = $2`, b.ID); err != nil {
			return err
		}
		if b.Status != store.BuildReady {
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE templates SET updated_at = $1 WHERE id = $2`, now, b.TemplateID); err != nil {
			return fmt.Errorf("template %q: %w", b.TemplateID, err)
		}
		return setTags(ctx, tx, b.TemplateID, b.ID, tags, now)
	})
}

func setTags(ctx context.Context, tx pgx.Tx, templateID, buildID string, tags []string, at int64) error {
	for _, t := range tags {
		if _, err := tx.Exec(ctx, `INSERT INTO template_tags (template_id, tag, build_id, created_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (template_id, tag) DO UPDATE SET build_id = excluded.build_id, created_at = excluded.created_at`,
			templateID, t, buildID, at); err != nil {
			return fmt.Errorf("tag %q: %w", t, err)
		}
	}
	return nil
}

// FailUnfinishedBuilds implements store.Templates.
func (s *Store) FailUnfinishedBuilds(ctx context.Context, reason string, at time.Time) (int, error) {
	reason = store.SanitizeText(reason)
	var n int64
	now := sqlrow.Time(s.orNow(at))
	err := s.write(ctx, func(tx pgx.Tx) error {
		if err := closeBuildSpans(ctx, tx, now, `status IN ($2, $3)`, store.BuildWaiting, store.BuildBuilding); err != nil {
			return err
		}
		res, err := tx.Exec(ctx, `UPDATE template_builds SET status = $1, reason = $2, updated_at = $3, finished_at = $4
			WHERE status IN ($5, $6)`, store.BuildError, reason, now, now, store.BuildWaiting, store.BuildBuilding)
		if err != nil {
			return fmt.Errorf("fail unfinished builds: %w", err)
		}
		n = res.RowsAffected()
		return nil
	})
	return int(n), err
}

// AppendBuildLogs implements store.Templates.
func (s *Store) AppendBuildLogs(ctx context.Context, buildID string, entries []store.BuildLogEntry) error {
	if err := store.ValidateText("build id", buildID); err != nil {
		return err
	}
	if len(entries) == 0 {
		return nil
	}
	// A log is what the build's processes printed: kept, repaired.
	clean := make([]store.BuildLogEntry, len(entries))
	for i, e := range entries {
		e.Level, e.Step, e.Message = store.SanitizeText(e.Level), store.SanitizeText(e.Step), store.SanitizeText(e.Message)
		clean[i] = e
	}
	entries = clean
	return s.write(ctx, func(tx pgx.Tx) error {
		// The build's row lock makes appenders to one log take turns, so
		// two of them cannot both pick the same next seq.
		var one int
		err := tx.QueryRow(ctx, `SELECT 1 FROM template_builds WHERE id = $1 FOR UPDATE`, buildID).Scan(&one)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("build %q: %w", buildID, errdefs.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("build %q: logs: %w", buildID, err)
		}
		var next int
		if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(seq) + 1, 0) FROM template_build_logs WHERE build_id = $1`, buildID).Scan(&next); err != nil {
			return fmt.Errorf("build %q: logs: %w", buildID, err)
		}
		for i, e := range entries {
			if _, err := tx.Exec(ctx, `INSERT INTO template_build_logs (build_id, seq, at, level, step, message) VALUES ($1, $2, $3, $4, $5, $6)`,
				buildID, next+i, sqlrow.Time(s.orNow(e.Time)), e.Level, e.Step, e.Message); err != nil {
				return fmt.Errorf("build %q: logs: %w", buildID, err)
			}
		}
		return nil
	})
}

// BuildLogs implements store.Templates.
func (s *Store) BuildLogs(ctx context.Context, buildID string, offset, limit int) ([]store.BuildLogEntry, error) {
	if err := store.ValidateText("build id", buildID); err != nil {
		return nil, err
	}
	if offset < 0 || limit < 0 {
		return nil, fmt.Errorf("logs offset %d, limit %d: must not be negative: %w", offset, limit, errdefs.ErrInvalidArgument)
	}
	rows, err := s.pool.Query(ctx, `SELECT at, level, step, message FROM template_build_logs WHERE build_id = $1 AND seq >= $2
		ORDER BY seq LIMIT $3`, buildID, offset, limit)
	if err != nil {
		return nil, fmt.Errorf("build %q: logs: %w", buildID, err)
	}
	defer rows.Close()
	var out []store.BuildLogEntry
	for rows.Next() {
		var e store.BuildLogEntry
		var at int64
		if err := rows.Scan(&at, &e.Level, &e.Step, &e.Message); err != nil {
			return nil, err
		}
		e.Time = sqlrow.FromTime(at)
		out = append(out, e)
	}
	return out, rows.Err()
}

// SetTags implements store.Templates.
func (s *Store) SetTags(ctx context.Context, templateID, buildID string, tags []string, at time.Time) error {
	if err := store.ValidateText("template id", templateID); err != nil {
		return err
	}
	if err := store.ValidateText("build id", buildID); err != nil {
		return err
	}
	for _, t := range tags {
		if err := store.ValidateTag(t); err != nil {
			return err
		}
	}
	return s.write(ctx, func(tx pgx.Tx) error {
		var status string
		err := tx.QueryRow(ctx, `SELECT status FROM template_builds WHERE id = $1 AND template_id = $2 FOR UPDATE`, buildID, templateID).Scan(&status)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("build %q of template %q: %w", buildID, templateID, errdefs.ErrNotFound)
		}
		if err != nil {
			return err
		}
		if store.BuildStatus(status) != store.BuildReady {
			return fmt.Errorf("build %q is %s; only a ready build can be tagged: %w", buildID, status, errdefs.ErrFailedPrecondition)
		}
		return setTags(ctx, tx, templateID, buildID, tags, sqlrow.Time(s.orNow(at)))
	})
}

// DeleteTags implements store.Templates.
func (s *Store) DeleteTags(ctx context.Context, templateID string, tags []string) error {
	if err := store.ValidateText("template id", templateID); err != nil {
		return err
	}
	for _, t := range tags {
		if err := store.ValidateText("tag", t); err != nil {
			return err
		}
	}
	return s.write(ctx, func(tx pgx.Tx) error {
		for _, t := range tags {
			res, err := tx.Exec(ctx, `DELETE FROM template_tags WHERE template_id = $1 AND tag = $2`, templateID, t)
			if err != nil {
				return fmt.Errorf("tag %q: %w", t, err)
			}
			if res.RowsAffected() == 0 {
				return fmt.Errorf("tag %q of template %q: %w", t, templateID, errdefs.ErrNotFound)
			}
		}
		return nil
	})
}

// ListTags implements store.Templates.
func (s *Store) ListTags(ctx context.Context, templateID string) ([]store.TemplateTag, error) {
	if err := store.ValidateText("template id", templateID); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT template_id, tag, build_id, created_at FROM template_tags WHERE template_id = $1 ORDER BY tag COLLATE "C"`, templateID)
	if err != nil {
		return nil, fmt.Errorf("list tags: %w", err)
	}
	defer rows.Close()
	var out []store.TemplateTag
	for rows.Next() {
		var t store.TemplateTag
		var at int64
		if err := rows.Scan(&t.TemplateID, &t.Tag, &t.BuildID, &at); err != nil {
			return nil, err
		}
		t.CreatedAt = sqlrow.FromTime(at)
		out = append(out, t)
	}
	return out, rows.Err()
}
