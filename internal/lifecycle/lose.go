package lifecycle

import (
	"context"
	"fmt"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/logx"
	"github.com/soulbox/soulbox/internal/store"
)

// Lose ends a live sandbox whose node has stopped answering, with reason
// lost and message, without asking its runtime anything: the node is not
// there to answer, and its sandbox is destroyed when the node returns.
// The end is a compare-and-set in the store, so a sandbox is lost once
// however many callers judge it; one ended meanwhile is ErrNotFound. Its
// timeout, health checks and metric series stop with it, and the store
// no longer counts it against its team's quota.
func (m *Manager) Lose(ctx context.Context, id, message string) error {
	defer m.opLock(id)()
	if err := m.store.EndSandbox(ctx, id, store.ReasonLost, message, time.Now()); err != nil {
		if errdefs.IsFailedPrecondition(err) { // ended meanwhile
			return fmt.Errorf("sandbox %q: %w", id, errdefs.ErrNotFound)
		}
		return err
	}
	m.unschedule(id)
	m.endSeries(id)
	m.resetProbe(id)
	m.settledUnclear(id)
	m.log.Warn("sandbox ended", logx.Sandbox(id), "reason", string(store.ReasonLost), "why", message)
	return nil
}
