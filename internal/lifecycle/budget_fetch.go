package lifecycle

import (
	"fmt"
	"path/filepath"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// transferDir holds the temporaries of checkpoints on their way to or
// from object storage (archives, a fetch being unpacked): beside the
// checkpoint directory, on its file system (a fetch is renamed into
// place), but outside it, so the paused disk budget measures only
// checkpoints, not work under way.
func (m *Manager) transferDir() string { return m.checkpoints + "-transfers" }

// fetchPath is where the fetch of sandbox id's checkpoint is unpacked
// before it is renamed into place.
func (m *Manager) fetchPath(id string) string { return filepath.Join(m.transferDir(), id+".fetch") }

// reserveFetch checks that sandbox id's checkpoint, size bytes, fetched
// from object storage, fits the paused disk budget (Config.PausedDiskMB)
// and holds that space until release is called (once the checkpoint is
// in place, where the budget measures it), as reserveCheckpoint does for
// a pause: a resume the budget cannot take is refused before anything is
// downloaded, and the sandbox stays paused.
func (m *Manager) reserveFetch(id string, size int64) (release func(), err error) {
	if m.pausedBudget <= 0 {
		return func() {}, nil
	}
	return m.reservePaused(size, func(held int64) error {
		return fmt.Errorf("resuming sandbox %q fetches its %d MiB checkpoint from object storage; paused sandboxes hold %d MiB of the server's %d MiB (--paused-disk-mb): kill paused sandboxes, or resume it when others have resumed: %w",
			id, mib(size), mib(held), mib(m.pausedBudget), errdefs.ErrResourceExhausted)
	})
}
