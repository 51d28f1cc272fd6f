package lifecycle

import (
	"fmt"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// DeleteTeam runs del, which checks that team may go (no live
// sandboxes) and deletes it, and then refuses the creates of team this
// process still has under way, though their request was authenticated
// before. The store's DeleteTeam reads the team's sandboxes in turn
// with its creates (CreateSandboxIf), so none is recorded between the
// check and the deletion, through this process or another; after it
// the store's admission finds the team deleted by its revoked keys.
func (m *Manager) DeleteTeam(team string, del func() error) error {
	if err := del(); err != nil {
		return err
	}
	m.deletedTeams.Store(team, struct{}{})
	return nil
}

// teamDeleted fails if team was deleted while this process ran.
func (m *Manager) teamDeleted(team string) error {
	if _, gone := m.deletedTeams.Load(team); gone {
		return fmt.Errorf("team %q was deleted: %w", team, errdefs.ErrNotFound)
	}
	return nil
}
