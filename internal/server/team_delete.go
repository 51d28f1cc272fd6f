package server

import (
	"context"
	"time"

	"github.com/soulbox/soulbox/internal/logx"
	"github.com/soulbox/soulbox/internal/tenancy"
)

// deleteTeam deletes team id as tenancy.DeleteTeam does, under the
// lifecycle's create lock (no create of the team recorded after the
// check that it has no live sandboxes), then drains its templates'
// warm pools and clears their stored bounds, so that nothing stays warm
// for a team that is gone, after a restart either.
func (s *Server) deleteTeam(ctx context.Context, id string) error {
	if err := s.lifecycle.DeleteTeam(id, func() error { return tenancy.DeleteTeam(ctx, s.store, id) }); err != nil {
		return err
	}
	ctx = context.WithoutCancel(ctx)
	ts, err := s.store.ListTemplates(ctx, id)
	if err != nil {
		s.log.Error("list a deleted team's templates to drain their pools", "team", id, logx.Err(err))
		return nil
	}
	for _, t := range ts {
		if t.Team != id || t.Pool == nil {
			continue
		}
		if err := s.store.SetTemplatePool(ctx, t.ID, nil, time.Now()); err != nil {
			s.log.Error("clear a deleted team's template pool", "team", id, "template", t.ID, logx.Err(err))
		}
		if s.pools != nil {
			s.pools.Removed(ctx, t.ID)
		}
	}
	return nil
}
