package tenancy

import (
	"context"
	"errors"
	"time"

	"github.com/soulbox/soulbox/internal/store"
)

// TemplatePools is what ClearTeamPools needs of the store.
type TemplatePools interface {
	ListTemplates(ctx context.Context, team string) ([]store.Template, error)
	SetTemplatePool(ctx context.Context, id string, pool *store.TemplatePool, at time.Time) error
}

// ClearTeamPools clears the warm pool bounds of team's templates, for a
// deleted team: nothing is kept warm for a team that is gone. It
// returns the ids of the templates whose pools it cleared, for a running
// server to drain them.
func ClearTeamPools(ctx context.Context, st TemplatePools, team string) ([]string, error) {
	ts, err := st.ListTemplates(ctx, team)
	if err != nil {
		return nil, err
	}
	var ids []string
	var errs []error
	for _, t := range ts {
		if t.Team != team || t.Pool == nil {
			continue
		}
		if err := st.SetTemplatePool(ctx, t.ID, nil, time.Now()); err != nil {
			errs = append(errs, err)
			continue
		}
		ids = append(ids, t.ID)
	}
	return ids, errors.Join(errs...)
}
