package server

import (
	"context"
	"os"

	"github.com/soulbox/soulbox/internal/node"
	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/version"
)

// localNode is this server's host as GET /nodes reports it: named by
// its hostname, healthy when every /ready check passes.
func (s *Server) localNode() *node.Local {
	id, err := os.Hostname()
	if err != nil || id == "" {
		id = "local"
	}
	return &node.Local{ID: id, Version: version.Version, DataDir: s.cfg.DataDir, Usage: s.nodeUsage,
		Healthy: func(ctx context.Context) bool {
			for _, c := range s.readyChecks(ctx) {
				if !c.OK {
					return false
				}
			}
			return true
		},
		Pooled: s.readyPools}
}

// readyPools are the templates the embedded node's warm pool has a
// sandbox of ready.
func (s *Server) readyPools() []string {
	if s.pool == nil {
		return nil
	}
	var out []string
	for _, st := range s.pool.Stats() {
		if st.Ready > 0 {
			out = append(out, st.Template)
		}
	}
	return out
}

// nodeUsage counts the sandboxes of this node from the store: those
// running and starting (or between running and paused, which holds what
// running does), and what they were given.
func (s *Server) nodeUsage(ctx context.Context) (node.Usage, error) {
	live, err := s.store.ListSandboxes(ctx, store.SandboxFilter{States: []store.SandboxState{
		store.StateStarting, store.StateRunning, store.StatePausing, store.StateResuming}})
	if err != nil {
		return node.Usage{}, err
	}
	var u node.Usage
	for _, sb := range live {
		if sb.State == store.StateStarting {
			u.Starting++
		} else {
			u.Live++
		}
		u.CPU += sb.CPUCount
		u.MemoryBytes += uint64(sb.MemoryMB) << 20
	}
	u.Created, u.Failed = s.lifecycle.CreateCounts()
	return u, nil
}
