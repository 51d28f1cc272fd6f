package sqlite

import (
	"database/sql"
	"time"
)

// Times are stored as INTEGER microseconds since the Unix epoch: exact,
// ordered, and the precision PostgreSQL keeps. The zero time is NULL.

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
