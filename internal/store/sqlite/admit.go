package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
)

// CreateSandboxIf implements store.Store. SQLite has one writer: the
// read, admit and insert run in the write transaction, which every
// other write of the database (of any process) waits for.
func (s *Store) CreateSandboxIf(ctx context.Context, sb store.Sandbox, admit func(store.TeamLoad) error) error {
	if err := store.ValidateNew(sb); err != nil {
		return err
	}
	created := s.orNow(sb.CreatedAt)
	return s.write(ctx, func(tx *sql.Tx) error {
		load, err := teamLoad(ctx, tx, sb.ClientID)
		if err != nil {
			return err
		}
		if err := admit(load); err != nil {
			return err
		}
		return s.insertSandbox(ctx, tx, sb, created)
	})
}

// liveStatesIn is "state IN (...)" of store.LiveStates.
var liveStatesIn = func() string {
	q := make([]string, len(store.LiveStates))
	for i, st := range store.LiveStates {
		q[i] = "'" + string(st) + "'"
	}
	return "state IN (" + strings.Join(q, ", ") + ")"
}()

// teamLoad reads what team holds, in one statement.
func teamLoad(ctx context.Context, tx *sql.Tx, team string) (store.TeamLoad, error) {
	var l store.TeamLoad
	err := tx.QueryRowContext(ctx, `WITH live AS (
			SELECT COUNT(*) AS n, COALESCE(SUM(cpu_count), 0) AS cpus, COALESCE(SUM(memory_mb), 0) AS memory
			FROM sandboxes WHERE client_id = ?1 AND `+liveStatesIn+`)
		SELECT live.n, live.cpus, live.memory,
			COALESCE(t.quota_sandboxes, 0), COALESCE(t.quota_cpus, 0), COALESCE(t.quota_memory_mb, 0),
			COALESCE(t.quota_disk_bytes, 0), COALESCE(t.quota_build_minutes, 0),
			t.id IS NULL AND (EXISTS (SELECT 1 FROM api_keys WHERE team = ?1)
				OR EXISTS (SELECT 1 FROM access_tokens WHERE team = ?1))
			AND NOT EXISTS (SELECT 1 FROM api_keys WHERE team = ?1 AND revoked_at IS NULL)
		FROM live LEFT JOIN teams t ON t.id = ?1`, team).Scan(
		&l.Sandboxes, &l.CPUs, &l.MemoryMB,
		&l.Quota.Sandboxes, &l.Quota.CPUs, &l.Quota.MemoryMB, &l.Quota.DiskBytes, &l.Quota.BuildMinutes,
		&l.Deleted)
	if err != nil {
		return l, fmt.Errorf("team %q: read its sandboxes and quota: %w", team, err)
	}
	return l, nil
}

// refuseLive fails with ErrFailedPrecondition if team has live
// sandboxes.
func refuseLive(ctx context.Context, tx *sql.Tx, team string) error {
	l, err := teamLoad(ctx, tx, team)
	if err != nil {
		return err
	}
	if l.Sandboxes > 0 {
		return fmt.Errorf("team %q has %d live sandboxes: kill them first: %w", team, l.Sandboxes, errdefs.ErrFailedPrecondition)
	}
	return nil
}
