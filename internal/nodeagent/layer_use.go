package nodeagent

import (
	"sync"
	"time"
)

// layerUse records when this node's creates last resolved each layer of
// its layer store, since it started: what the heartbeat reports first
// when it holds more layers than it may report.
type layerUse struct {
	mu   sync.Mutex
	last map[string]time.Time
}

// used records that the layers digests were resolved now.
func (u *layerUse) used(digests ...string) {
	if u == nil {
		return
	}
	now := time.Now()
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.last == nil {
		u.last = map[string]time.Time{}
	}
	for _, d := range digests {
		u.last[d] = now
	}
}

// lastUsed is when digest was last resolved, if it was since the node
// started.
func (u *layerUse) lastUsed(digest string) (time.Time, bool) {
	if u == nil {
		return time.Time{}, false
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	t, ok := u.last[digest]
	return t, ok
}
