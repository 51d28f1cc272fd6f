package sqlite

import (
	"context"
	"database/sql"
)

// The statements the writer runs for almost every write, by text. Each
// is prepared once on the writer's connection when the store opens and
// bound to each transaction from there: SQLite parsing and planning the
// text of every write was a quarter of the writer's CPU under the API
// load (a set timeout is a savepoint, a state read, an update, an event,
// and its audit entry's read of the last entry and insert).
const (
	sqlSavepoint   = "SAVEPOINT write"
	sqlRollbackTo  = "ROLLBACK TO write"
	sqlRelease     = "RELEASE write"
	sqlState       = `SELECT state FROM sandboxes WHERE id = ?`
	sqlSetEndAt    = `UPDATE sandboxes SET end_at = ? WHERE id = ?`
	sqlInsertEvent = `INSERT INTO events (sandbox_id, time, type, message) VALUES (?, ?, ?, ?)`
	sqlAuditLast   = `SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1`
	sqlAuditInsert = `INSERT INTO audit (id, at, team, key_id, key_prefix, action, target, remote, status, message, prev_hash, hash)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
)

var hotWrites = []string{sqlSavepoint, sqlRollbackTo, sqlRelease, sqlState, sqlSetEndAt, sqlInsertEvent, sqlAuditLast, sqlAuditInsert}

// prepareWrites prepares hotWrites on the writer's connection. It runs
// before the writer starts, while no transaction holds the connection. A
// statement that cannot be prepared is run from its text instead.
func (s *Store) prepareWrites(ctx context.Context) {
	s.wstmts = make(map[string]*sql.Stmt, len(hotWrites))
	for _, q := range hotWrites {
		if st, err := s.w.PrepareContext(ctx, q); err == nil {
			s.wstmts[q] = st
		}
	}
}

// closeWrites closes what prepareWrites prepared.
func (s *Store) closeWrites() {
	for q, st := range s.wstmts {
		_ = st.Close()
		delete(s.wstmts, q)
	}
}

// txExec runs query in tx, through its prepared statement if it has
// one.
func (s *Store) txExec(ctx context.Context, tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	st, ok := s.wstmts[query]
	if !ok {
		return tx.ExecContext(ctx, query, args...)
	}
	ts := tx.StmtContext(ctx, st)
	defer ts.Close()
	return ts.ExecContext(ctx, args...)
}

// txQueryRow is txExec for a query of one row. The transaction's copy of
// the statement is closed with the transaction.
func (s *Store) txQueryRow(ctx context.Context, tx *sql.Tx, query string, args ...any) *sql.Row {
	st, ok := s.wstmts[query]
	if !ok {
		return tx.QueryRowContext(ctx, query, args...)
	}
	return tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
}
