package server

import (
	"context"

	"github.com/soulbox/soulbox/internal/logx"
	"github.com/soulbox/soulbox/internal/tenancy"
)

// deleteTeam deletes team id as tenancy.DeleteTeam does, under the
// lifecycle's create lock (no create of the team recorded after the
// check that it has no live sandboxes), then clears its templates' warm
// pool bounds and drains those pools, so that nothing stays warm for a
// team that is gone, after a restart either.
func (s *Server) deleteTeam(ctx context.Context, id string) error {
	if err := s.lifecycle.DeleteTeam(id, func() error { return tenancy.DeleteTeam(ctx, s.store, id) }); err != nil {
		return err
	}
	ctx = context.WithoutCancel(ctx)
	ids, err := tenancy.ClearTeamPools(ctx, s.store, id)
	if err != nil {
		s.log.Error("clear a deleted team's template pools", "team", id, logx.Err(err))
	}
	for _, tid := range ids {
		if s.pools != nil {
			s.pools.Removed(ctx, tid)
		}
	}
	return nil
}
