package postgres

import "time"

// Times go to and from columns through store/sqlrow (microseconds since
// the Unix epoch, the same numbers in both backends).

// orNow is t, or the store's current time if t is zero.
func (s *Store) orNow(t time.Time) time.Time {
	if t.IsZero() {
		return s.now()
	}
	return t
}
