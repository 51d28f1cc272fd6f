package lifecycle

import (
	"context"
	"fmt"

	"github.com/soulbox/soulbox/internal/diskusage"
	"github.com/soulbox/soulbox/internal/errdefs"
)

// reserveCheckpoint checks that a checkpoint of sandbox id fits the
// server's disk budget for paused sandboxes (Config.PausedDiskMB) and
// holds its estimated size until release is called, so that pauses under
// way at once cannot together overrun it. The estimate is the memory the
// sandbox's processes hold beyond page cache, which is what CRIU writes
// for them; a pause the budget cannot take is refused before anything
// changes, and the sandbox runs on.
func (m *Manager) reserveCheckpoint(ctx context.Context, id string) (release func(), err error) {
	if m.pausedBudget <= 0 {
		return func() {}, nil
	}
	st, err := m.driver.Stats(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("sandbox %q: measure its memory for the pause: %w", id, err)
	}
	need := int64(st.MemoryUsage - min(st.MemoryCache, st.MemoryUsage))
	return m.reservePaused(need, func(held int64) error {
		return fmt.Errorf("pausing sandbox %q with its memory needs about %d MiB of checkpoint space; paused sandboxes hold %d MiB of the server's %d MiB (--paused-disk-mb): pause with memory false, which keeps only its files, or kill paused sandboxes: %w",
			id, mib(need), mib(held), mib(m.pausedBudget), errdefs.ErrResourceExhausted)
	})
}

// reservePaused holds need bytes of the paused disk budget until release
// is called, if the checkpoints on disk and those under way leave room
// for them; otherwise it answers refuse(bytes held).
func (m *Manager) reservePaused(need int64, refuse func(held int64) error) (release func(), err error) {
	used, err := diskusage.Of(m.checkpoints)
	if err != nil {
		return nil, fmt.Errorf("measure the paused sandboxes' checkpoints: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if used+m.reserved+need > m.pausedBudget {
		return nil, refuse(used + m.reserved)
	}
	m.reserved += need
	return func() {
		m.mu.Lock()
		m.reserved -= need
		m.mu.Unlock()
	}, nil
}

func mib(b int64) int64 { return (b + 1<<20 - 1) >> 20 }
