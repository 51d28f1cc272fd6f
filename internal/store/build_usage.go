package store

import "time"

// BuildSpan is the time one build of a team spent building, as the
// build-usage ledger records it: written when the build starts and when
// it ends, and kept when its template is deleted, so that deleting a
// template gives no build minutes back.
type BuildSpan struct {
	BuildID string
	// Team owned the build's template when the build started.
	Team string
	// StartedAt is when the build started building, FinishedAt when it
	// ended (zero while it runs).
	StartedAt  time.Time
	FinishedAt time.Time
}
