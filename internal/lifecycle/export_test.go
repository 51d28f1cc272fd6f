package lifecycle

import (
	"context"
	"time"

	"github.com/soulbox/soulbox/internal/store"
)

// OpLocks returns how many sandboxes have a pause/resume/kill lock entry.
func (m *Manager) OpLocks() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.opLocks)
}

// SetExpireTiming shortens the timer's deadline and retry delay until the
// returned restore is called.
func SetExpireTiming(deadline, retry time.Duration) (restore func()) {
	d, r := expireDeadline, expireRetry
	expireDeadline, expireRetry = deadline, retry
	return func() { expireDeadline, expireRetry = d, r }
}

// HoldOpLock takes sandbox id's pause/resume/kill lock, as a long pause,
// snapshot or fork does, until the returned release is called.
func (m *Manager) HoldOpLock(id string) (release func()) { return m.opLock(id) }

// Sample runs one monitor check of sb, a record read before the check as
// a monitor pass reads it.
func (m *Manager) Sample(ctx context.Context, sb store.Sandbox) { m.sample(ctx, sb) }

// WriteCloneTokens writes the tokens file of a clone checkpoint, as a
// snapshot with memory does.
func WriteCloneTokens(dir string, sb store.Sandbox) error { return writeCloneTokens(dir, sb) }

// WaitObjectWork waits for the object storage work under way in the
// background (checkpoint uploads, blob deletions) to finish by itself.
func (m *Manager) WaitObjectWork() { m.objWork.wg.Wait() }

// StepName is the store leadership a pause or resume of sandbox id on a
// joined node holds.
func StepName(id string) string { return stepName(id) }
