package lifecycle

import (
	"fmt"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// DeleteTeam runs del, which checks that team may go (no live
// sandboxes) and deletes it, under the lock creates record their sandbox
// under: no create of team is recorded between del's check and the
// deletion, and none after it, though its request was authenticated
// before. A create of team waiting for the lock is then refused.
func (m *Manager) DeleteTeam(team string, del func() error) error {
	m.createMu.Lock()
	defer m.createMu.Unlock()
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
