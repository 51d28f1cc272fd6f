package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/sqlrow"
)

// CreateSandbox implements store.Store.
func (s *Store) CreateSandbox(ctx context.Context, sb store.Sandbox) error {
	if err := store.ValidateNew(sb); err != nil {
		return err
	}
	created := s.orNow(sb.CreatedAt)
	return s.write(ctx, func(tx *sql.Tx) error { return s.insertSandbox(ctx, tx, sb, created) })
}

// insertSandbox records sb, created at created, with its metadata and
// events, in tx.
func (s *Store) insertSandbox(ctx context.Context, tx *sql.Tx, sb store.Sandbox, created time.Time) error {
	// ON CONFLICT rather than matching the driver's constraint error:
	// the duplicate is reported the same way by PostgreSQL.
	res, err := tx.ExecContext(ctx, `INSERT INTO sandboxes (
		id, template_id, alias, client_id, state, cpu_count, memory_mb, disk_mb,
		envd_access_token, runtime, created_at, started_at, end_at, network, traffic_access_token, lifecycle,
		env_vars, node
	) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (id) DO NOTHING`,
		sb.ID, sb.TemplateID, sb.Alias, sb.ClientID, string(sb.State), sb.CPUCount, sb.MemoryMB, sb.DiskMB,
		sb.EnvdAccessToken, sb.Runtime, sqlrow.Time(created), sqlrow.NullTime(sb.StartedAt), sqlrow.NullTime(sb.EndAt),
		sqlrow.Network(sb.Network), sb.TrafficAccessToken, sqlrow.Lifecycle(sb.Lifecycle), sqlrow.EnvVars(sb.EnvVars), sb.Node)
	if err != nil {
		return fmt.Errorf("sandbox %q: insert: %w", sb.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("sandbox %q: insert: %w", sb.ID, err)
	} else if n == 0 {
		return fmt.Errorf("sandbox %q: %w", sb.ID, errdefs.ErrAlreadyExists)
	}
	for k, v := range sb.Metadata {
		if _, err := tx.ExecContext(ctx, `INSERT INTO sandbox_metadata (sandbox_id, name, value) VALUES (?, ?, ?)`,
			sb.ID, k, v); err != nil {
			return fmt.Errorf("sandbox %q: insert metadata %q: %w", sb.ID, k, err)
		}
	}
	if err := s.insertEvent(ctx, tx, sb.ID, created, store.EventCreated, ""); err != nil {
		return err
	}
	if sb.State == store.StateRunning {
		return s.insertEvent(ctx, tx, sb.ID, created, store.EventStarted, "")
	}
	return nil
}

// sandboxColumns are read by querySandboxes, in this order, followed by one
// metadata entry (NULLs when there is none).
const sandboxColumns = `s.id, s.template_id, s.alias, s.client_id, s.state, s.end_reason, s.end_message,
	s.cpu_count, s.memory_mb, s.disk_mb, s.envd_access_token, s.runtime,
	s.created_at, s.started_at, s.end_at, s.ended_at, s.network, s.traffic_access_token, s.lifecycle, s.env_vars, s.node`

// GetSandbox implements store.Store.
func (s *Store) GetSandbox(ctx context.Context, id string) (store.Sandbox, error) {
	if err := store.ValidateID(id); err != nil {
		return store.Sandbox{}, err
	}
	list, err := s.querySandboxes(ctx, selectSandboxes(sandboxesTable, `s.id = ?`), id)
	if err != nil {
		return store.Sandbox{}, fmt.Errorf("sandbox %q: %w", id, err)
	}
	if len(list) == 0 {
		return store.Sandbox{}, notFound(id)
	}
	return list[0], nil
}

// ListSandboxes implements store.Store.
func (s *Store) ListSandboxes(ctx context.Context, f store.SandboxFilter) ([]store.Sandbox, error) {
	if err := store.ValidateFilter(f); err != nil {
		return nil, err
	}
	query, args := listQuery(f)
	list, err := s.querySandboxes(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list sandboxes: %w", err)
	}
	return list, nil
}

// sandboxesTable is the FROM clause of a read of sandbox records, and
// teamStatesTable that of one by team and state.
//
// Left to itself, SQLite's planner reads a team's sandboxes by their
// creation (sandboxes_client_created, which spares it a sort) whenever
// more than one state is asked for, as the API and the quota check always
// do: it then walks the team's whole history of ended sandboxes, which
// is kept, for its few live ones. sandboxes_client_state goes to the
// live ones.
const (
	sandboxesTable  = "sandboxes s"
	teamStatesTable = "sandboxes s INDEXED BY sandboxes_client_state"
)

// listQuery is the statement reading the sandboxes f matches, and its
// arguments.
func listQuery(f store.SandboxFilter) (string, []any) {
	where := []string{"1 = 1"}
	var args []any
	if len(f.States) > 0 {
		where = append(where, "s.state IN (?"+strings.Repeat(", ?", len(f.States)-1)+")")
		for _, st := range f.States {
			args = append(args, string(st))
		}
	}
	if f.TemplateID != "" {
		where = append(where, "s.template_id = ?")
		args = append(args, f.TemplateID)
	}
	if f.Team != "" {
		where = append(where, "s.client_id = ?")
		args = append(args, f.Team)
	}
	for k, v := range f.Metadata {
		where = append(where, `EXISTS (SELECT 1 FROM sandbox_metadata f
			WHERE f.sandbox_id = s.id AND f.name = ? AND f.value = ?)`)
		args = append(args, k, v)
	}
	table := sandboxesTable
	if f.Team != "" && len(f.States) > 0 {
		table = teamStatesTable
	}
	return selectSandboxes(table, strings.Join(where, " AND ")), args
}

// selectSandboxes reads the sandboxes of table matching where, with
// their metadata, in one statement so that records and metadata are one
// snapshot. Unordered: querySandboxes orders the records, which spares
// SQLite a sort of every row with all its columns.
func selectSandboxes(table, where string) string {
	return `SELECT ` + sandboxColumns + `, m.name, m.value
		FROM ` + table + ` LEFT JOIN sandbox_metadata m ON m.sandbox_id = s.id
		WHERE ` + where
}

// querySandboxes runs query, a selectSandboxes statement, gathers each
// sandbox's rows into one record, and orders the records by creation
// time, then id.
func (s *Store) querySandboxes(ctx context.Context, query string, args ...any) ([]store.Sandbox, error) {
	rows, err := s.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Sandbox
	at := map[string]int{} // a sandbox's index in out
	for rows.Next() {
		var (
			sb                    store.Sandbox
			state, reason         string
			created               int64
			started, endAt, ended sql.NullInt64
			metaName, metaValue   sql.NullString
			network, lifecycle    sql.NullString
			envVars               sql.NullString
		)
		if err := rows.Scan(&sb.ID, &sb.TemplateID, &sb.Alias, &sb.ClientID, &state, &reason, &sb.EndMessage,
			&sb.CPUCount, &sb.MemoryMB, &sb.DiskMB, &sb.EnvdAccessToken, &sb.Runtime,
			&created, &started, &endAt, &ended, &network, &sb.TrafficAccessToken, &lifecycle, &envVars, &sb.Node, &metaName, &metaValue); err != nil {
			return nil, err
		}
		// One row per metadata entry; a sandbox's rows come together
		// from the join, but nothing here counts on it.
		i, seen := at[sb.ID]
		if !seen {
			sb.State = store.SandboxState(state)
			sb.EndReason = store.EndReason(reason)
			sb.CreatedAt = sqlrow.FromTime(created)
			sb.StartedAt = sqlrow.FromNullTime(started)
			sb.EndAt = sqlrow.FromNullTime(endAt)
			if ended.Valid {
				t := sqlrow.FromTime(ended.Int64)
				sb.EndedAt = &t
			}
			if network.Valid {
				sb.Network = new(store.NetworkConfig)
				if err := json.Unmarshal([]byte(network.String), sb.Network); err != nil {
					return nil, fmt.Errorf("sandbox %q: network column: %w", sb.ID, err)
				}
			}
			if lifecycle.Valid {
				if err := json.Unmarshal([]byte(lifecycle.String), &sb.Lifecycle); err != nil {
					return nil, fmt.Errorf("sandbox %q: lifecycle column: %w", sb.ID, err)
				}
			}
			if envVars.Valid {
				if err := json.Unmarshal([]byte(envVars.String), &sb.EnvVars); err != nil {
					return nil, fmt.Errorf("sandbox %q: env_vars column: %w", sb.ID, err)
				}
			}
			i = len(out)
			at[sb.ID] = i
			out = append(out, sb)
		}
		if metaName.Valid {
			cur := &out[i]
			if cur.Metadata == nil {
				cur.Metadata = map[string]string{}
			}
			cur.Metadata[metaName.String] = metaValue.String
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b store.Sandbox) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// currentState reads the sandbox's state inside a write transaction, where
// it cannot change until the transaction ends.
func (s *Store) currentState(ctx context.Context, tx *sql.Tx, id string) (store.SandboxState, error) {
	var st string
	err := s.txQueryRow(ctx, tx, sqlState, id).Scan(&st)
	if errors.Is(err, sql.ErrNoRows) {
		return "", notFound(id)
	}
	if err != nil {
		return "", fmt.Errorf("sandbox %q: read state: %w", id, err)
	}
	return store.SandboxState(st), nil
}

// SetState implements store.Store.
func (s *Store) SetState(ctx context.Context, id string, from []store.SandboxState, to store.SandboxState, ev store.Event) error {
	if err := store.ValidateTransition(id, from, to, ev); err != nil {
		return err
	}
	at := s.orNow(ev.Time)
	return s.write(ctx, func(tx *sql.Tx) error {
		cur, err := s.currentState(ctx, tx, id)
		if err != nil {
			return err
		}
		if !slices.Contains(from, cur) {
			return fmt.Errorf("sandbox %q is %s, not %s: %w", id, cur, joinStates(from), errdefs.ErrFailedPrecondition)
		}
		var started sql.NullInt64 // COALESCE keeps the first start
		if to == store.StateRunning {
			started = sqlrow.NullTime(at)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE sandboxes SET state = ?, started_at = COALESCE(started_at, ?) WHERE id = ?`,
			string(to), started, id); err != nil {
			return fmt.Errorf("sandbox %q: set state %s: %w", id, to, err)
		}
		return s.insertEvent(ctx, tx, id, at, ev.Type, ev.Message)
	})
}

func joinStates(states []store.SandboxState) string {
	ss := make([]string, len(states))
	for i, st := range states {
		ss[i] = string(st)
	}
	return strings.Join(ss, " or ")
}

// MoveSandbox implements store.Store.
func (s *Store) MoveSandbox(ctx context.Context, id, from, to string, ev store.Event) error {
	if err := store.ValidateMove(id, from, to, ev); err != nil {
		return err
	}
	at := s.orNow(ev.Time)
	return s.write(ctx, func(tx *sql.Tx) error {
		cur, err := s.currentState(ctx, tx, id)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE sandboxes SET node = ? WHERE id = ? AND state = ? AND node = ?`,
			to, id, string(store.StateResuming), from)
		if err != nil {
			return fmt.Errorf("sandbox %q: move to node %s: %w", id, to, err)
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return fmt.Errorf("sandbox %q is %s, not resuming on node %q: %w", id, cur, from, errdefs.ErrFailedPrecondition)
		}
		return s.insertEvent(ctx, tx, id, at, ev.Type, ev.Message)
	})
}

// EndSandbox implements store.Store.
func (s *Store) EndSandbox(ctx context.Context, id string, reason store.EndReason, message string, at time.Time) error {
	if err := store.ValidateEnd(id, reason); err != nil {
		return err
	}
	at = s.orNow(at)
	message = store.SanitizeText(message) // a runtime's words
	return s.write(ctx, func(tx *sql.Tx) error {
		cur, err := s.currentState(ctx, tx, id)
		if err != nil {
			return err
		}
		if cur == store.StateEnded {
			return fmt.Errorf("sandbox %q already ended: %w", id, errdefs.ErrFailedPrecondition)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE sandboxes SET state = ?, end_reason = ?, end_message = ?, ended_at = ?
			WHERE id = ?`, string(store.StateEnded), string(reason), message, sqlrow.Time(at), id); err != nil {
			return fmt.Errorf("sandbox %q: end: %w", id, err)
		}
		msg := string(reason)
		if message != "" {
			msg += ": " + message
		}
		return s.insertEvent(ctx, tx, id, at, store.EventEnded, msg)
	})
}

// SetEndAt implements store.Store.
func (s *Store) SetEndAt(ctx context.Context, id string, at time.Time) error {
	if err := store.ValidateEndAt(id, at); err != nil {
		return err
	}
	now := s.now()
	return s.write(ctx, func(tx *sql.Tx) error {
		cur, err := s.currentState(ctx, tx, id)
		if err != nil {
			return err
		}
		if cur == store.StateEnded {
			return fmt.Errorf("sandbox %q ended, cannot reschedule its end: %w", id, errdefs.ErrFailedPrecondition)
		}
		if _, err := s.txExec(ctx, tx, sqlSetEndAt, sqlrow.Time(at), id); err != nil {
			return fmt.Errorf("sandbox %q: set end time: %w", id, err)
		}
		msg := "ends at " + sqlrow.FromTime(sqlrow.Time(at)).Format(time.RFC3339Nano)
		return s.insertEvent(ctx, tx, id, now, store.EventTimeoutExtended, msg)
	})
}

// SetNetwork implements store.Store.
func (s *Store) SetNetwork(ctx context.Context, id string, n store.NetworkConfig) error {
	if err := store.ValidateID(id); err != nil {
		return err
	}
	now := s.now()
	return s.write(ctx, func(tx *sql.Tx) error {
		cur, err := s.currentState(ctx, tx, id)
		if err != nil {
			return err
		}
		if cur == store.StateEnded {
			return fmt.Errorf("sandbox %q ended, its network cannot change: %w", id, errdefs.ErrFailedPrecondition)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE sandboxes SET network = ? WHERE id = ?`, sqlrow.Network(&n), id); err != nil {
			return fmt.Errorf("sandbox %q: set network: %w", id, err)
		}
		return s.insertEvent(ctx, tx, id, now, store.EventNetworkUpdated, "")
	})
}
