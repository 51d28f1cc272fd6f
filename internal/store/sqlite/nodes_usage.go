package sqlite

import (
	"context"
	"fmt"
	"strings"

	"github.com/soulbox/soulbox/internal/store"
)

// nodeUsageQuery groups the live sandboxes by node; its first argument
// is the team, then the live states.
var nodeUsageQuery = `SELECT node, COUNT(*), COALESCE(SUM(cpu_count), 0), COALESCE(SUM(memory_mb), 0),
	COALESCE(SUM(CASE WHEN client_id = ? AND client_id <> '' THEN 1 ELSE 0 END), 0)
	FROM sandboxes WHERE state IN (?` + strings.Repeat(", ?", len(store.LiveStates)-1) + `) GROUP BY node ORDER BY node`

// NodeUsage implements store.Nodes.
func (s *Store) NodeUsage(ctx context.Context, team string) ([]store.NodeUsage, error) {
	args := make([]any, 0, 1+len(store.LiveStates))
	args = append(args, team)
	for _, st := range store.LiveStates {
		args = append(args, string(st))
	}
	rows, err := s.query(ctx, nodeUsageQuery, args...)
	if err != nil {
		return nil, fmt.Errorf("node usage: %w", err)
	}
	defer rows.Close()
	var out []store.NodeUsage
	for rows.Next() {
		var u store.NodeUsage
		if err := rows.Scan(&u.Node, &u.Sandboxes, &u.CPUs, &u.MemoryMB, &u.TeamSandboxes); err != nil {
			return nil, fmt.Errorf("node usage: %w", err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("node usage: %w", err)
	}
	return out, nil
}
