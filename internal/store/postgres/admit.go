package postgres

import (
	"context"
	"fmt"
	"hash/fnv"

	"github.com/jackc/pgx/v5"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
)

// CreateSandboxIf implements store.Store. The team's advisory lock,
// taken first, makes the creates and deletion of one team take turns
// across every process on the database until their commit; the read
// after it (a statement of its own, so that its snapshot is taken once
// the lock is held) sees every create of the team committed before.
func (s *Store) CreateSandboxIf(ctx context.Context, sb store.Sandbox, admit func(store.TeamLoad) error) error {
	if err := store.ValidateNew(sb); err != nil {
		return err
	}
	created := s.orNow(sb.CreatedAt)
	return s.write(ctx, func(tx pgx.Tx) error {
		if err := lockTeam(ctx, tx, sb.ClientID); err != nil {
			return err
		}
		load, err := teamLoad(ctx, tx, sb.ClientID)
		if err != nil {
			return err
		}
		if err := admit(load); err != nil {
			return err
		}
		return insertSandbox(ctx, tx, sb, created)
	})
}

// lockTeam takes team's lock until tx ends. Its key is a hash of the
// team's id: two teams whose keys collide only wait for each other.
func lockTeam(ctx context.Context, tx pgx.Tx, team string) error {
	h := fnv.New64a()
	h.Write([]byte("soulbox/team/" + team))
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(h.Sum64())); err != nil {
		return fmt.Errorf("team %q: lock: %w", team, err)
	}
	return nil
}

// teamLoad reads what team holds, in one statement.
func teamLoad(ctx context.Context, tx pgx.Tx, team string) (store.TeamLoad, error) {
	states := make([]string, len(store.LiveStates))
	for i, st := range store.LiveStates {
		states[i] = string(st)
	}
	var l store.TeamLoad
	err := tx.QueryRow(ctx, `WITH live AS (
			SELECT COUNT(*) AS n, COALESCE(SUM(cpu_count), 0) AS cpus, COALESCE(SUM(memory_mb), 0) AS memory
			FROM sandboxes WHERE client_id = $1 AND state = ANY($2))
		SELECT live.n, live.cpus, live.memory,
			COALESCE(t.quota_sandboxes, 0), COALESCE(t.quota_cpus, 0), COALESCE(t.quota_memory_mb, 0),
			COALESCE(t.quota_disk_bytes, 0), COALESCE(t.quota_build_minutes, 0),
			t.id IS NULL AND (EXISTS (SELECT 1 FROM api_keys WHERE team = $1)
				OR EXISTS (SELECT 1 FROM access_tokens WHERE team = $1))
			AND NOT EXISTS (SELECT 1 FROM api_keys WHERE team = $1 AND revoked_at IS NULL)
		FROM live LEFT JOIN teams t ON t.id = $1`, team, states).Scan(
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
func refuseLive(ctx context.Context, tx pgx.Tx, team string) error {
	l, err := teamLoad(ctx, tx, team)
	if err != nil {
		return err
	}
	if l.Sandboxes > 0 {
		return fmt.Errorf("team %q has %d live sandboxes: kill them first: %w", team, l.Sandboxes, errdefs.ErrFailedPrecondition)
	}
	return nil
}
