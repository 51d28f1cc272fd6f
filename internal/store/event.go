package store

import "time"

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
	EventPaused          = "paused"
	EventResumed         = "resumed"
	EventTimeoutExtended = "timeout_extended"
	EventNetworkUpdated  = "network_updated"
	EventEnded           = "ended"
)
