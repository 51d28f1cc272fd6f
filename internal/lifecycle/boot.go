package lifecycle

import (
	"context"
	"fmt"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/logx"
	"github.com/soulbox/soulbox/internal/store"
)

// initBooted prepares the fresh agent of a sandbox booted again from its
// filesystem (a resume after a filesystem-only pause) as its create did:
// the template's environment under the create's envVars, its default
// user and working directory, its start command. If its template has
// been deleted since, the agent still gets the create's envVars.
func (m *Manager) initBooted(ctx context.Context, sb store.Sandbox) error {
	err := m.initSandbox(ctx, sb.ID, sb.TemplateID, sb.EnvVars, sb.EnvdAccessToken, sb.TrafficAccessToken)
	if err == nil || !errdefs.IsNotFound(err) {
		if err != nil {
			return fmt.Errorf("boot sandbox %q again: %w", sb.ID, err)
		}
		return nil
	}
	m.log.Warn("the template of a sandbox booted again is gone; its own environment only", logx.Sandbox(sb.ID), logx.Err(err))
	return m.initAgent(ctx, sb.ID, sb.EnvVars, sb.EnvdAccessToken, sb.TrafficAccessToken)
}
