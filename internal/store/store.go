// Package store persists what the control plane knows about sandboxes: one
// record per sandbox and the log of its lifecycle events. It holds the domain
// types and the Store interface; backends live in subpackages (store/sqlite)
// and all pass the conformance suite in store/storetest.
//
// The store is the source of truth for a sandbox's state, so every state
// change is a compare-and-set recorded together with its event: of two
// control plane goroutines that both saw a running sandbox and race to pause
// it, one wins and the other is told the state moved, and the event log
// never disagrees with the record.
package store

import (
	"context"
	"time"
)

// Store is a durable home for sandbox records and their events.
//
// Every method is safe for concurrent use. A method that returns nil has made
// its change durable. Errors are in the errdefs categories: ErrInvalidArgument
// for bad input (checked before anything is read), ErrNotFound for an unknown
// sandbox, ErrAlreadyExists for a duplicate id, ErrFailedPrecondition for a
// change the sandbox's current state does not allow. A failed method changes
// nothing.
//
// Times come back in UTC with at least millisecond precision (a backend may
// keep more, never less). Where a method takes a time, the zero time means
// the store's current time unless the method says otherwise.
type Store interface {
	// CreateSandbox stores a new sandbox and records a "created" event at
	// sb.CreatedAt in the same transaction, and a "started" event too when
	// sb is already running (a sandbox from a warm pool has no starting
	// phase to record). The sandbox must not be ended (only EndSandbox
	// ends a sandbox, with a reason); a zero CreatedAt is the store's
	// current time; a zero EndAt means no end is scheduled.
	CreateSandbox(ctx context.Context, sb Sandbox) error

	// CreateSandboxIf stores sb as CreateSandbox does if admit, called
	// in the same transaction with what sb's team (sb.ClientID) holds,
	// returns nil; otherwise it returns admit's error and stores nothing.
	// The calls for one team take turns from that read to their commit
	// on every handle of the database (several processes on one
	// PostgreSQL too), and so does DeleteTeam: of creates racing for a
	// team's last place one wins, whichever process makes them. Calls
	// for different teams do not wait for each other where the backend
	// writes side by side. admit may be called more than once and must
	// not use the store.
	CreateSandboxIf(ctx context.Context, sb Sandbox, admit func(TeamLoad) error) error

	// GetSandbox returns the sandbox with the given id. Metadata with no
	// entries comes back nil.
	GetSandbox(ctx context.Context, id string) (Sandbox, error)

	// ListSandboxes returns the sandboxes matching f, ordered by CreatedAt
	// then ID. An empty result is not an error.
	ListSandboxes(ctx context.Context, f SandboxFilter) ([]Sandbox, error)

	// SetState moves the sandbox to state to if its current state is one of
	// from, and records ev in the same transaction; otherwise it fails with
	// ErrFailedPrecondition and records nothing. The transition happens at
	// ev.Time, which also becomes StartedAt the first time the sandbox enters
	// StateRunning. Ended is terminal and belongs to EndSandbox, so it may be
	// neither in from nor to. ev.SandboxID may be empty; ev.ID is ignored.
	SetState(ctx context.Context, id string, from []SandboxState, to SandboxState, ev Event) error

	// EndSandbox moves a sandbox in any state but ended to StateEnded with
	// the reason and message, EndedAt set to at, and records an "ended"
	// event at at, whose message carries both, in the same transaction.
	// Ending an ended sandbox fails with ErrFailedPrecondition and keeps
	// the first end as it was.
	EndSandbox(ctx context.Context, id string, reason EndReason, message string, at time.Time) error

	// MoveSandbox records that a sandbox being resumed now runs on node
	// to instead of node from (a paused sandbox restored on another node
	// from object storage), with ev, in one transaction. It fails with
	// ErrFailedPrecondition, recording nothing, unless the sandbox is
	// resuming on node from. Node names are as CreateSandbox's ("": the
	// embedded node).
	MoveSandbox(ctx context.Context, id, from, to string, ev Event) error

	// SetEndAt reschedules when the sandbox times out and records a
	// "timeout_extended" event. at must not be zero; an ended sandbox
	// cannot be rescheduled (ErrFailedPrecondition).
	SetEndAt(ctx context.Context, id string, at time.Time) error

	// SetNetwork replaces the network configuration of a sandbox that has
	// not ended (ErrFailedPrecondition otherwise) and records a
	// "network_updated" event in the same transaction.
	SetNetwork(ctx context.Context, id string, n NetworkConfig) error

	// ListEvents returns the sandbox's events in the order they were
	// recorded, which is the order of their IDs.
	ListEvents(ctx context.Context, sandboxID string) ([]Event, error)

	// EventsAfter returns the events recorded after the event f.After (0:
	// from the first) of the sandboxes f.Team owns (every team's when
	// empty), at most f.Limit, in the order of their IDs: a reader that
	// passes the last ID it saw resumes where it left off.
	EventsAfter(ctx context.Context, f EventFilter) ([]Event, error)

	// Close releases the store. Calls after Close fail.
	Close() error

	APIKeys
	Teams
	Templates
	MetricHistory
	Audit
	Nodes
	AccessTokens
	Secrets
	CheckpointObjects
	LayerBlobs
	Members
	KeyFingerprints
}

// Audit stores the hash-chained audit log. Each entry's Hash is
// AuditHash under a key the store does not hold: whoever can write the
// database but not read the key cannot forge a chain.
type Audit interface {
	// AppendAudit writes e as the next entry: it sets ID, PrevHash (the
	// last entry's Hash, or the anchor), Time if zero, and Hash (AuditHash
	// under key), in one transaction with reading the last entry, and
	// returns the entry.
	AppendAudit(ctx context.Context, key []byte, e AuditEntry) (AuditEntry, error)
	// ListAudit returns the entries f selects in ID order.
	ListAudit(ctx context.Context, f AuditFilter) ([]AuditEntry, error)
	// PruneAudit deletes the entries before before and keeps the ID and
	// Hash of the last one deleted as the anchor, in one transaction; it
	// returns how many it deleted.
	PruneAudit(ctx context.Context, before time.Time) (int, error)
	// AuditAnchor is the last entry pruned: the first entry kept must
	// have ID LastID+1 and PrevHash Hash. The zero anchor if nothing was
	// ever pruned.
	AuditAnchor(ctx context.Context) (AuditAnchorPoint, error)
}

// APIKeys stores the control plane's API keys: their hashes, never the keys.
type APIKeys interface {
	// CreateAPIKey stores a key; a duplicate id or hash is ErrAlreadyExists.
	CreateAPIKey(ctx context.Context, k APIKey) error
	// APIKeyByHash finds a key, revoked or not (ErrNotFound).
	APIKeyByHash(ctx context.Context, hash string) (APIKey, error)
	// ListAPIKeys returns every key by creation time.
	ListAPIKeys(ctx context.Context) ([]APIKey, error)
	// RevokeAPIKey revokes a key at at; a revoked key is
	// ErrFailedPrecondition and stays as it was.
	RevokeAPIKey(ctx context.Context, id string, at time.Time) error
	// TouchAPIKey records that a key, revoked or not, was used at at. It
	// only moves LastUsedAt forward: an earlier time changes nothing and is
	// not an error. An unknown id is ErrNotFound.
	TouchAPIKey(ctx context.Context, id string, at time.Time) error
	// CountAPIKeys counts every key, revoked ones included.
	CountAPIKeys(ctx context.Context) (int, error)
	// ListTeamAPIKeys returns the keys of one team by creation time.
	ListTeamAPIKeys(ctx context.Context, team string) ([]APIKey, error)
	// RenameAPIKey renames a key of team; a key of another team is
	// ErrNotFound, as an unknown one.
	RenameAPIKey(ctx context.Context, team, id, name string) error
}

// Teams stores the teams that own keys, sandboxes and templates.
type Teams interface {
	// CreateTeam stores a team; a duplicate id is ErrAlreadyExists.
	CreateTeam(ctx context.Context, t Team) error
	// GetTeam returns a team (ErrNotFound if unknown or deleted).
	GetTeam(ctx context.Context, id string) (Team, error)
	// ListTeams returns every team by creation time.
	ListTeams(ctx context.Context) ([]Team, error)
	// RenameTeam renames a team (ErrNotFound if unknown).
	RenameTeam(ctx context.Context, id, name string) error
	// SetTeamQuota replaces a team's quota (ErrNotFound if unknown).
	SetTeamQuota(ctx context.Context, id string, q Quota) error
	// DeleteTeam removes a team, revokes every key of it at at and
	// deletes its secrets, in one transaction (ErrNotFound if unknown).
	// A team with live sandboxes is ErrFailedPrecondition, read in turn
	// with the team's CreateSandboxIf calls, so that none records a
	// sandbox of a team being deleted. The team's sandboxes and
	// templates keep its id.
	DeleteTeam(ctx context.Context, id string, at time.Time) error
}
