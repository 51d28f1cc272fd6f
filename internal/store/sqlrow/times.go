package sqlrow

import (
	"database/sql"
	"time"
)

// Times are stored as 64-bit microseconds since the Unix epoch, UTC, in
// both backends: exact, ordered, and PostgreSQL's own precision. The
// zero time is NULL.

// Time is t as a column value.
func Time(t time.Time) int64 { return t.UnixMicro() }

// NullTime is t as a nullable column value: NULL for the zero time.
func NullTime(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: Time(t), Valid: true}
}

// FromTime is the time of a column value, in UTC.
func FromTime(us int64) time.Time { return time.UnixMicro(us).UTC() }

// FromNullTime is the time of a nullable column value: zero for NULL.
func FromNullTime(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return FromTime(v.Int64)
}

// NullTimePtr is an optional time as a nullable column value.
func NullTimePtr(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: Time(*t), Valid: true}
}

// FromNullTimePtr is the optional time of a nullable column value.
func FromNullTimePtr(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := FromTime(v.Int64)
	return &t
}
