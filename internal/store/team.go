package store

import (
	"fmt"
	"strings"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// AdminTeam is the built-in team of the server's administrators. The
// admin key made at setup belongs to it, and so does what that key
// creates; it cannot be deleted.
const AdminTeam = "default"

// Team owns sandboxes, templates, events and API keys. Nothing of one
// team is visible to another.
type Team struct {
	ID   string
	Name string
	// CreatedAt is when the team was made.
	CreatedAt time.Time
	// Quota bounds what the team's live sandboxes may hold at once.
	Quota Quota
}

// TeamLoad is what a team holds, as a create's admission reads it
// (Store.CreateSandboxIf).
type TeamLoad struct {
	// Sandboxes counts the team's live sandboxes (LiveStates); CPUs and
	// MemoryMB sum their vCPUs and memory.
	Sandboxes, CPUs, MemoryMB int
	// Quota is the team's; zero for a team the store keeps no row of
	// (keys made before teams).
	Quota Quota
	// Deleted: the team has no row, keys or access tokens name it, and
	// none of its keys is live (deleting a team revokes them all). A
	// team known only by its keys, made without a row (auth.Create of a
	// new team name), is not deleted while one of its keys lives.
	Deleted bool
}

// Quota is a team's limits on its live (starting, running or paused)
// sandboxes. A zero field is no limit of the team's own (the server's
// --max-sandboxes still applies to every team).
type Quota struct {
	// Sandboxes is how many sandboxes may be live at once.
	Sandboxes int
	// CPUs is the total of their vCPUs.
	CPUs int
	// MemoryMB is the total of their memory, in MiB.
	MemoryMB int
	// DiskBytes bounds the bytes the team's ready template builds and
	// snapshots occupy, as each recorded its size (a layer two builds
	// share counts for each).
	DiskBytes int64
	// BuildMinutes bounds the time the team's builds spend building over
	// the last BuildWindow.
	BuildMinutes int
}

// BuildWindow is the rolling window a team's build minutes are counted
// over.
const BuildWindow = 30 * 24 * time.Hour

// ValidateQuota checks a quota before it is stored.
func ValidateQuota(q Quota) error {
	if q.Sandboxes < 0 || q.CPUs < 0 || q.MemoryMB < 0 || q.DiskBytes < 0 || q.BuildMinutes < 0 {
		return fmt.Errorf("quota: limits are 0 (none) or more: %w", errdefs.ErrInvalidArgument)
	}
	return nil
}

// ValidateTeam checks a team before it is stored.
func ValidateTeam(t Team) error {
	if t.ID == "" {
		return fmt.Errorf("team: id is required: %w", errdefs.ErrInvalidArgument)
	}
	return ValidateTeamName(t.Name)
}

// MaxTeamNameLen bounds a team's name.
const MaxTeamNameLen = 64

// ValidateTeamName checks the name of a team.
func ValidateTeamName(name string) error {
	if strings.TrimSpace(name) == "" || len(name) > MaxTeamNameLen {
		return fmt.Errorf("team name: want 1 to %d characters, not blank: %w", MaxTeamNameLen, errdefs.ErrInvalidArgument)
	}
	return ValidateText("team name", name)
}
