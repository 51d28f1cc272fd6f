package sqlite

import (
	"context"
	"database/sql"
	"sync"
	"sync/atomic"
)

// maxReadStmts bounds the prepared read statements kept: the store's
// queries are a fixed set, but a list's text varies with its filter's
// shape, and a shape beyond the bound is prepared for its one use.
const maxReadStmts = 256

// readStmts keeps the read pool's statements prepared. Preparing (SQLite
// parsing and planning the text) was a quarter of the server's CPU under
// API load; a *sql.Stmt is prepared once on each read connection and then
// reused.
type readStmts struct {
	m sync.Map // query text -> *sql.Stmt
	n atomic.Int32
}

// stmt returns query prepared on the read pool, or nil when the cache is
// full or the statement cannot be prepared (the caller then runs the text,
// which reports the error).
func (s *Store) stmt(ctx context.Context, query string) *sql.Stmt {
	if st, ok := s.stmts.m.Load(query); ok {
		return st.(*sql.Stmt)
	}
	if s.stmts.n.Load() >= maxReadStmts {
		return nil
	}
	st, err := s.r.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	if prev, loaded := s.stmts.m.LoadOrStore(query, st); loaded {
		_ = st.Close()
		return prev.(*sql.Stmt)
	}
	s.stmts.n.Add(1)
	return st
}

// query runs a read on the read pool through its prepared statement.
func (s *Store) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := s.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return s.r.QueryContext(ctx, query, args...)
}

// queryRow is query for one row.
func (s *Store) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	if st := s.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return s.r.QueryRowContext(ctx, query, args...)
}

// closeStmts closes the prepared read statements.
func (s *Store) closeStmts() {
	s.stmts.m.Range(func(k, v any) bool {
		_ = v.(*sql.Stmt).Close()
		s.stmts.m.Delete(k)
		return true
	})
}
