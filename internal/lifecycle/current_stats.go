package lifecycle

import (
	"context"
	"time"

	"github.com/soulbox/soulbox/internal/runtime"
)

// currentTTL is how long a sandbox's usage read for a metrics request,
// before the monitor has a sample of it, is given to the next requests.
// A dashboard polling a new sandbox's metrics otherwise read its cgroups
// at every request until the monitor's first pass.
const currentTTL = time.Second

// currentRead is a sandbox's usage as read at a time.
type currentRead struct {
	at time.Time
	st runtime.Stats
}

// currentStats returns the sandbox's usage now, or as it was read for a
// request less than currentTTL ago.
func (m *Manager) currentStats(ctx context.Context, id string) (runtime.Stats, error) {
	m.mu.Lock()
	c, ok := m.current[id]
	m.mu.Unlock()
	if ok && time.Since(c.at) < currentTTL {
		return c.st, nil
	}
	st, err := m.driver.Stats(ctx, id)
	if err != nil {
		return st, err
	}
	now := time.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	// Reads that expired go now: a sandbox that ended after its read
	// (endSeries forgets it too) leaves nothing behind.
	for k, c := range m.current {
		if now.Sub(c.at) >= currentTTL {
			delete(m.current, k)
		}
	}
	m.current[id] = currentRead{at: now, st: st}
	return st, nil
}
