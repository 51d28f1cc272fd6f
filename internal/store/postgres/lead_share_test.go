package postgres

import (
	"context"
	"errors"
	"testing"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store/postgres/pgtest"
)

// TestLeadershipShared: several processes share a leadership at once;
// while it is shared no one leads it, and while one leads it no one
// shares it; once every sharer released it, it can be led again.
func TestLeadershipShared(t *testing.T) {
	url := pgtest.Start(t).NewDatabase(t)
	a, b, c := openURL(t, url), openURL(t, url), openURL(t, url)
	ctx := context.Background()
	sa, err := a.TryShare(ctx, "server")
	if err != nil {
		t.Fatalf("a: share: %v", err)
	}
	sb, err := b.TryShare(ctx, "server")
	if err != nil {
		t.Fatalf("b: share beside a: %v", err)
	}
	if _, err := c.TryLead(ctx, "server"); !errors.Is(err, errdefs.ErrFailedPrecondition) {
		t.Fatalf("c: lead while shared: %v, want failed precondition", err)
	}
	for _, l := range []interface{ Release() error }{sa, sb} {
		if err := l.Release(); err != nil {
			t.Fatalf("release a share: %v", err)
		}
	}
	lc, err := c.TryLead(ctx, "server")
	if err != nil {
		t.Fatalf("c: lead once no one shares: %v", err)
	}
	defer lc.Release()
	if _, err := a.TryShare(ctx, "server"); !errors.Is(err, errdefs.ErrFailedPrecondition) {
		t.Fatalf("a: share while c leads: %v, want failed precondition", err)
	}
}
