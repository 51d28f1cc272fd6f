// Package tenancy holds the rules of a team's life that every surface
// (the REST API, the CLI on the server's host) must apply alike: how a
// team is made and when it may be deleted.
package tenancy

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
)

// Store is what the rules need of the store.
type Store interface {
	store.Teams
	ListSandboxes(ctx context.Context, f store.SandboxFilter) ([]store.Sandbox, error)
}

// NewTeamID returns an id for a new team.
func NewTeamID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b) // never fails since Go 1.24
	return "team_" + hex.EncodeToString(b)
}

// CreateTeam makes a team named name and returns it as stored.
func CreateTeam(ctx context.Context, st store.Teams, name string) (store.Team, error) {
	tm := store.Team{ID: NewTeamID(), Name: name}
	if err := st.CreateTeam(ctx, tm); err != nil {
		return tm, err
	}
	return st.GetTeam(ctx, tm.ID)
}

// liveStates are the states of a sandbox that still runs or can run.
var liveStates = store.LiveStates

// DeleteTeam deletes team id and revokes its keys. The built-in team
// cannot be deleted, nor a team with live sandboxes (they would run on
// with nobody able to reach or stop them): kill them first.
func DeleteTeam(ctx context.Context, st Store, id string) error {
	if id == store.AdminTeam {
		return fmt.Errorf("team %q is the built-in administrators' team and cannot be deleted: %w", id, errdefs.ErrFailedPrecondition)
	}
	if _, err := st.GetTeam(ctx, id); err != nil {
		return err
	}
	live, err := LiveSandboxes(ctx, st, id)
	if err != nil {
		return err
	}
	if len(live) > 0 {
		return fmt.Errorf("team %q has %d live sandboxes (e.g. %s): kill them first (POST /admin/teams/%s/sandboxes/kill): %w", id, len(live), live[0].ID, id, errdefs.ErrFailedPrecondition)
	}
	return st.DeleteTeam(ctx, id, time.Now())
}
