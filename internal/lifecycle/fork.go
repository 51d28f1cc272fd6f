package lifecycle

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
)

// MaxForks is the most sandboxes one fork makes, as in E2B.
const MaxForks = 100

// ForkResult is one fork's outcome: exactly one of Sandbox and Err.
type ForkResult struct {
	Sandbox store.Sandbox
	Err     error
}

// Fork makes count new sandboxes of live sandbox id, each with the
// source's resources, metadata, environment variables, network and
// lifecycle, its own id, address and a life of timeout (0:
// DefaultTimeout). A running sandbox the runtime can clone is forked with
// its processes and memory (see forkClones); otherwise with its files:
// one snapshot of it (see Snapshot; listed with the team's snapshots, and
// deletable once its forks have ended), then count creates from that
// snapshot. The forks are made as many at once as the host has CPUs. The source keeps its id and end. One fork's failure (the
// team's sandbox limit, say) is its own entry; an error is returned only
// when none could be tried.
func (m *Manager) Fork(ctx context.Context, id string, count int, timeout time.Duration) ([]ForkResult, error) {
	if count < 1 || count > MaxForks {
		return nil, fmt.Errorf("count %d: fork 1 to %d sandboxes: %w", count, MaxForks, errdefs.ErrInvalidArgument)
	}
	if timeout < 0 || timeout > m.maxTime {
		return nil, fmt.Errorf("timeout %v: use 1 s to %v: %w", timeout, m.maxTime, errdefs.ErrInvalidArgument)
	}
	src, err := m.live(ctx, id)
	if err != nil {
		return nil, err
	}
	// Forks are new sandboxes: placed as a create of the source's
	// template and size would be, before anything is checkpointed.
	if src.Node != "" {
		// A joined node's sandbox forks on its node (see forkOnNode).
		return m.forkOnNode(ctx, src, count, timeout)
	}
	// They are made on the embedded node, which must be ready.
	if m.placer != nil {
		if _, err := m.placer(ctx, CreateRequest{TemplateID: src.TemplateID, CPUCount: src.CPUCount, MemoryMB: src.MemoryMB, Team: src.ClientID, EmbeddedOnly: true}); err != nil {
			return nil, err
		}
	}
	if src.State == store.StateRunning {
		if out, handled, err := m.forkClones(ctx, src, count, timeout); handled {
			return out, err
		}
	}
	snap, err := m.Snapshot(ctx, id, "", true)
	if err != nil {
		return nil, err
	}
	req := CreateRequest{
		TemplateID: snap.ID, Timeout: timeout, Metadata: maps.Clone(src.Metadata), EnvVars: maps.Clone(src.EnvVars),
		CPUCount: src.CPUCount, MemoryMB: src.MemoryMB, Secure: src.EnvdAccessToken != "", Team: src.ClientID,
		NoPool: true, Network: networkRequestOf(src.Network), Lifecycle: src.Lifecycle, EmbeddedOnly: true,
	}
	out := make([]ForkResult, count)
	eachFork(count, func(i int) {
		out[i].Sandbox, out[i].Err = m.Create(ctx, req)
	})
	return out, nil
}

// networkRequestOf asks for the network cfg records; nil for the
// defaults.
func networkRequestOf(cfg *store.NetworkConfig) *NetworkRequest {
	if cfg == nil {
		return nil
	}
	return &NetworkRequest{
		AllowInternetAccess: &cfg.AllowInternetAccess,
		AllowOut:            slices.Clone(cfg.AllowOut), DenyOut: slices.Clone(cfg.DenyOut),
		AllowPublicTraffic: &cfg.AllowPublicTraffic, MaskRequestHost: cfg.MaskRequestHost,
		EgressMbps: limitOf(cfg.EgressMbps), IngressMbps: limitOf(cfg.IngressMbps), MaxConnections: limitOf(cfg.MaxConnections),
	}
}

// limitOf is a recorded network limit as a request asks for it: 0, no
// limit (the server has none), is no request, which takes the server's.
func limitOf(v int) *int {
	if v == 0 {
		return nil
	}
	return &v
}
