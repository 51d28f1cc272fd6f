package postgres

import (
	"database/sql"
	"time"
)

// Times are stored as BIGINT microseconds since the Unix epoch, the same
// numbers as in the SQLite backend (and the precision of timestamptz), so a
// row means the same in both and code moving between them needs no
// conversion. The zero time is NULL.

func dbTime(t time.Time) int64 { return t.UnixMicro() }

func dbNullTime(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: dbTime(t), Valid: true}
}

func fromDB(us int64) time.Time { return time.UnixMicro(us).UTC() }

func fromDBNull(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromDB(v.Int64)
}

// orNow is t, or the store's current time if t is zero.
func (s *Store) orNow(t time.Time) time.Time {
	if t.IsZero() {
		return s.now()
	}
	return t
}
