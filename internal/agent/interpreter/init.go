package interpreter

import (
	"context"
	"time"

	"github.com/soulbox/soulbox/internal/agent/state"
)

// initTimeout bounds what /init waits for here: a prewarm is a Python
// start with the data stack imported, a few seconds on a busy host.
const initTimeout = 30 * time.Second

// AfterInit follows the agent's /init: it starts the contexts the control
// plane asks to prewarm, and gives contexts already running the
// variables /init set, as a process started after /init would have them.
// Failures are logged, not returned: the sandbox works without them.
func (m *Manager) AfterInit(ctx context.Context, in state.Init) {
	ctx, cancel := context.WithTimeout(ctx, initTimeout)
	defer cancel()
	for _, lang := range in.Prewarm {
		start := time.Now()
		if err := m.Prewarm(ctx, lang); err != nil {
			m.log.Warn("prewarm interpreter", "language", lang, "err", err)
			continue
		}
		m.log.Info("interpreter prewarmed", "language", lang, "took", time.Since(start).Round(time.Millisecond))
	}
	if len(in.EnvVars) == 0 {
		return
	}
	m.mu.Lock()
	var live []*Context
	for _, c := range m.contexts {
		if c.kernel != nil {
			live = append(live, c)
		}
	}
	m.mu.Unlock()
	for _, c := range live {
		if err := m.execute(ctx, c, request{SetEnv: in.EnvVars}, discard{}); err != nil {
			m.log.Warn("pass /init variables to a context", "context", c.ID, "err", err)
		}
	}
}

type discard struct{}

func (discard) Write(any) error { return nil }
