package lifecycle

import (
	"errors"
	"sync/atomic"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// createCounts counts creates since the manager started, as a node
// reports them (E2B's createSuccesses and createFails).
type createCounts struct {
	ok, failed atomic.Uint64
}

// countCreate counts a create's outcome. A refused request (bad input,
// unknown template, quota, another team's template) is the client's, not
// a failure of the node, and is not counted.
func (m *Manager) countCreate(err error) {
	switch {
	case err == nil:
		m.creates.ok.Add(1)
	case errdefs.IsInvalidArgument(err), errdefs.IsNotFound(err),
		errors.Is(err, errdefs.ErrResourceExhausted), errors.Is(err, errdefs.ErrPermissionDenied):
	default:
		m.creates.failed.Add(1)
	}
}

// CreateCounts returns how many creates succeeded and how many failed on
// the node's side since the manager started.
func (m *Manager) CreateCounts() (ok, failed uint64) {
	return m.creates.ok.Load(), m.creates.failed.Load()
}
