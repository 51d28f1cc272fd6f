package catalog

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/tenancy"
)

// errBuildMinutes is the cause of a build the team's build minutes ran
// out under.
var errBuildMinutes = errors.New("build minutes used up")

// admitBuild refuses a build when its team has no build minutes or no
// template disk left (ErrResourceExhausted), and returns how long the
// build may run before the minutes run out (limited false: no limit).
func (c *Catalog) admitBuild(ctx context.Context, team string) (left time.Duration, limited bool, q store.Quota, err error) {
	q, err = tenancy.TeamQuota(ctx, c.store, team)
	if err != nil || (q.BuildMinutes == 0 && q.DiskBytes == 0) {
		return 0, false, q, err
	}
	u, err := tenancy.TeamBuildUsage(ctx, c.store, team, time.Now())
	if err != nil {
		return 0, false, q, err
	}
	if err := tenancy.AdmitBuild(q, u); err != nil {
		return 0, false, q, err
	}
	left, limited = tenancy.BuildTimeLeft(q, u)
	return left, limited, q, nil
}

// admitDisk refuses (ErrResourceExhausted) bytes more of templates or
// snapshots for team when they would take it past its disk quota; with
// bytes 0, when it is at or past it already.
func (c *Catalog) admitDisk(ctx context.Context, team string, bytes int64) error {
	q, err := tenancy.TeamQuota(ctx, c.store, team)
	if err != nil || q.DiskBytes == 0 {
		return err
	}
	u, err := tenancy.TeamBuildUsage(ctx, c.store, team, time.Now())
	if err != nil {
		return err
	}
	return tenancy.AdmitDisk(q, u, bytes)
}

// withBuildMinutes bounds a build's context by the build minutes its
// team has left; the context's cause then names the quota.
func withBuildMinutes(ctx context.Context, left time.Duration, limited bool, q store.Quota) (context.Context, context.CancelFunc) {
	if !limited {
		return ctx, func() {}
	}
	return context.WithTimeoutCause(ctx, left, fmt.Errorf("team quota of %d build minutes per %d days used up while the build ran: it was stopped after %s; ask a server admin to raise the quota: %w",
		q.BuildMinutes, int(store.BuildWindow/(24*time.Hour)), left.Round(time.Second), errBuildMinutes))
}
