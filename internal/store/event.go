package store

import (
	"fmt"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// Event is one entry of a sandbox's lifecycle log.
type Event struct {
	// ID is assigned by the store; it grows in the order events are
	// recorded.
	ID        int64
	SandboxID string
	Time      time.Time
	// Type is what happened: one of the Event* constants, or another
	// lowercase word a caller of SetState chooses.
	Type    string
	Message string
}

// The event types the store records by itself, and those the control plane
// passes to SetState for the usual transitions.
const (
	EventCreated         = "created"
	EventStarted         = "started"
	EventPausing         = "pausing"
	EventPaused          = "paused"
	EventResuming        = "resuming"
	EventResumed         = "resumed"
	EventTimeoutExtended = "timeout_extended"
	EventNetworkUpdated  = "network_updated"
	EventEnded           = "ended"
)

// EventFilter selects events for EventsAfter.
type EventFilter struct {
	// After is the ID of the last event already seen; 0 for none.
	After int64
	// Team, when set, keeps the events of that team's sandboxes.
	Team string
	// Limit is the most events returned, 1 to MaxEventsLimit.
	Limit int
}

// MaxEventsLimit is the most events one EventsAfter returns.
const MaxEventsLimit = 1000

// Validate reports a filter EventsAfter cannot serve.
func (f EventFilter) Validate() error {
	if f.After < 0 {
		return fmt.Errorf("event id %d: use 0 or the id of an event: %w", f.After, errdefs.ErrInvalidArgument)
	}
	if f.Limit < 1 || f.Limit > MaxEventsLimit {
		return fmt.Errorf("events limit %d: use 1 to %d: %w", f.Limit, MaxEventsLimit, errdefs.ErrInvalidArgument)
	}
	return nil
}
