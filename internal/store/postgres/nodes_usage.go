package postgres

import (
	"context"
	"fmt"

	"github.com/soulbox/soulbox/internal/store"
)

// nodeUsageQuery groups the live sandboxes by node: $1 the team, $2
// the live states.
const nodeUsageQuery = `SELECT node, COUNT(*), COALESCE(SUM(cpu_count), 0), COALESCE(SUM(memory_mb), 0),
	COUNT(*) FILTER (WHERE client_id = $1 AND client_id <> '')
	FROM sandboxes WHERE state = ANY($2) GROUP BY node ORDER BY node COLLATE "C"`

// NodeUsage implements store.Nodes.
func (s *Store) NodeUsage(ctx context.Context, team string) ([]store.NodeUsage, error) {
	states := make([]string, len(store.LiveStates))
	for i, st := range store.LiveStates {
		states[i] = string(st)
	}
	rows, err := s.pool.Query(ctx, nodeUsageQuery, team, states)
	if err != nil {
		return nil, fmt.Errorf("node usage: %w", err)
	}
	defer rows.Close()
	var out []store.NodeUsage
	for rows.Next() {
		var u store.NodeUsage
		var n, cpus, mem, teamN int64
		if err := rows.Scan(&u.Node, &n, &cpus, &mem, &teamN); err != nil {
			return nil, fmt.Errorf("node usage: %w", err)
		}
		u.Sandboxes, u.CPUs, u.MemoryMB, u.TeamSandboxes = int(n), int(cpus), mem, int(teamN)
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("node usage: %w", err)
	}
	return out, nil
}
