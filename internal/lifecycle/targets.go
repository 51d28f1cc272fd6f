package lifecycle

import (
	"context"
	"fmt"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/proxy"
	"github.com/soulbox/soulbox/internal/store"
)

var _ proxy.Sandboxes = (*Manager)(nil)

// Lookup finds a live sandbox for the traffic proxy.
func (m *Manager) Lookup(ctx context.Context, id string) (proxy.Target, error) {
	sb, err := m.store.GetSandbox(ctx, id)
	if err != nil {
		return proxy.Target{}, err
	}
	t := proxy.Target{ID: sb.ID, EnvdAccessToken: sb.EnvdAccessToken}
	if sb.Network != nil {
		if !sb.Network.AllowPublicTraffic {
			t.TrafficAccessToken = sb.TrafficAccessToken
		}
		t.MaskRequestHost = sb.Network.MaskRequestHost
	}
	switch sb.State {
	case store.StateRunning:
		return t, nil
	case store.StatePaused:
		t.Paused = true
		return t, nil
	default:
		return proxy.Target{}, fmt.Errorf("sandbox %q is %s: %w", id, sb.State, errdefs.ErrNotFound)
	}
}

// Secured lists the running sandboxes with an access token, for routing
// signed links.
func (m *Manager) Secured(ctx context.Context) ([]proxy.Target, error) {
	live, err := m.store.ListSandboxes(ctx, store.SandboxFilter{States: []store.SandboxState{store.StateRunning}})
	if err != nil {
		return nil, err
	}
	var out []proxy.Target
	for _, sb := range live {
		if sb.EnvdAccessToken != "" {
			out = append(out, proxy.Target{ID: sb.ID, EnvdAccessToken: sb.EnvdAccessToken})
		}
	}
	return out, nil
}
