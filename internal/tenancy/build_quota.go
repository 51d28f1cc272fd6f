package tenancy

import (
	"context"
	"fmt"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
)

// BuildStore is what build usage is read from.
type BuildStore interface {
	ListTemplates(ctx context.Context, team string) ([]store.Template, error)
	ListBuilds(ctx context.Context, templateID string) ([]store.TemplateBuild, error)
	ListBuildUsage(ctx context.Context, team string, since time.Time) ([]store.BuildSpan, error)
}

// BuildUsage is what a team's templates and snapshots occupy on disk and
// the time its builds spent building over the last store.BuildWindow.
type BuildUsage struct {
	// DiskBytes sums the sizes the team's ready builds and snapshots
	// recorded: a content-addressed layer two of them share, of this team
	// or of two teams, counts for each.
	DiskBytes int64
	// Build is the building time of the team's builds within the window:
	// finished builds as recorded, running ones until now, from the
	// build-usage ledger, so the builds of a template deleted since
	// still count.
	Build time.Duration
}

// Minutes is u.Build in minutes, to two decimals, as GET /quota shows it.
func (u BuildUsage) Minutes() float64 {
	return float64(u.Build.Round(600*time.Millisecond)/(600*time.Millisecond)) / 100
}

// TeamBuildUsage adds up the disk of the templates and snapshots team
// owns and the build time it spent, as of now.
func TeamBuildUsage(ctx context.Context, st BuildStore, team string, now time.Time) (BuildUsage, error) {
	ts, err := st.ListTemplates(ctx, team)
	if err != nil {
		return BuildUsage{}, err
	}
	var u BuildUsage
	for _, t := range ts {
		if t.Team != team { // a public template of another team
			continue
		}
		builds, err := st.ListBuilds(ctx, t.ID)
		if err != nil {
			return BuildUsage{}, err
		}
		for _, b := range builds {
			if b.Status == store.BuildReady {
				u.DiskBytes += b.SizeBytes
			}
		}
	}
	from := now.Add(-store.BuildWindow)
	spans, err := st.ListBuildUsage(ctx, team, from)
	if err != nil {
		return BuildUsage{}, err
	}
	for _, b := range spans {
		end := b.FinishedAt
		if end.IsZero() {
			end = now
		}
		start := b.StartedAt
		if start.Before(from) {
			start = from
		}
		if end.After(start) {
			u.Build += end.Sub(start)
		}
	}
	return u, nil
}

// AdmitBuild fails with ErrResourceExhausted, naming the limit and the
// use, when team quota q leaves no build minutes or no disk for a new
// build or snapshot.
func AdmitBuild(q store.Quota, u BuildUsage) error {
	if q.BuildMinutes > 0 && u.Build >= time.Duration(q.BuildMinutes)*time.Minute {
		return fmt.Errorf("team quota of %d build minutes per %d days used up (%.2f used): wait for older builds to leave the window, or ask a server admin to raise the quota: %w",
			q.BuildMinutes, int(store.BuildWindow/(24*time.Hour)), u.Minutes(), errdefs.ErrResourceExhausted)
	}
	return AdmitDisk(q, u, 0)
}

// AdmitDisk fails with ErrResourceExhausted, naming the limit and the
// use, when adding bytes to what the team occupies reaches past its disk
// quota (with bytes 0: when the team is at or over it already).
func AdmitDisk(q store.Quota, u BuildUsage, bytes int64) error {
	if q.DiskBytes <= 0 {
		return nil
	}
	if (bytes == 0 && u.DiskBytes >= q.DiskBytes) || (bytes > 0 && u.DiskBytes+bytes > q.DiskBytes) {
		return fmt.Errorf("team quota of %d bytes of template and snapshot disk would be exceeded: %d bytes in use, this adds %d: delete templates or snapshots, or ask a server admin to raise the quota: %w",
			q.DiskBytes, u.DiskBytes, bytes, errdefs.ErrResourceExhausted)
	}
	return nil
}

// BuildTimeLeft is how long a build may run before the team's build
// minutes run out; ok is false when q sets no such limit.
func BuildTimeLeft(q store.Quota, u BuildUsage) (left time.Duration, ok bool) {
	if q.BuildMinutes <= 0 {
		return 0, false
	}
	return time.Duration(q.BuildMinutes)*time.Minute - u.Build, true
}
