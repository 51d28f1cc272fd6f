package catalog_test

import (
	"context"
	"errors"
	"testing"

	"github.com/soulbox/soulbox/internal/catalog"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
)

// A team's key may pool a template up to the per-team ceiling; only an
// admin key goes above it, and a refused change is not stored.
func TestPoolCeilingForTeamKeys(t *testing.T) {
	c, st, _ := openLimited(t, catalog.Limits{PoolTeamMax: 2})
	ctx := context.Background()
	tpl, _, _, err := c.RequestBuild(ctx, catalog.BuildRequest{Team: "team-a", Name: "app"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.SetPool(ctx, "team-a", false, "app", &store.TemplatePool{Min: 1, Max: 2}); err != nil {
		t.Fatalf("at the ceiling: %v", err)
	}
	if _, err := c.SetPool(ctx, "team-a", false, "app", &store.TemplatePool{Min: 1, Max: 50}); !errors.Is(err, errdefs.ErrPermissionDenied) {
		t.Fatalf("above the ceiling with a team key: %v, want permission denied", err)
	}
	got, err := st.GetTemplate(ctx, tpl.ID)
	if err != nil || got.Pool == nil || got.Pool.Max != 2 {
		t.Fatalf("a refused pool change was stored: %+v, %v", got.Pool, err)
	}
	if _, err := c.SetPool(ctx, "team-a", true, "app", &store.TemplatePool{Min: 1, Max: 50}); err != nil {
		t.Fatalf("above the ceiling with an admin key: %v", err)
	}
	if _, err := c.SetPool(ctx, "team-a", false, "app", nil); err != nil {
		t.Fatalf("clearing the pool: %v", err)
	}

	// A negative ceiling leaves pools to admin keys.
	c2, _, _ := openLimited(t, catalog.Limits{PoolTeamMax: -1})
	if _, _, _, err := c2.RequestBuild(ctx, catalog.BuildRequest{Team: "team-a", Name: "app"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c2.SetPool(ctx, "team-a", false, "app", &store.TemplatePool{Max: 1}); !errors.Is(err, errdefs.ErrPermissionDenied) {
		t.Fatalf("any pool with a team key when only admins may: %v", err)
	}
}

// The ceiling is on the team's pools together: many templates of one
// team may not each pool up to it, another team is not counted, and
// lowering one template's pool makes room for another's.
func TestPoolCeilingIsPerTeam(t *testing.T) {
	c, _, _ := openLimited(t, catalog.Limits{PoolTeamMax: 4})
	ctx := context.Background()
	for _, name := range []string{"one", "two", "three"} {
		if _, _, _, err := c.RequestBuild(ctx, catalog.BuildRequest{Team: "team-a", Name: name}); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, _, err := c.RequestBuild(ctx, catalog.BuildRequest{Team: "team-b", Name: "other"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SetPool(ctx, "team-b", false, "other", &store.TemplatePool{Max: 4}); err != nil {
		t.Fatalf("another team's pool: %v", err)
	}
	if _, err := c.SetPool(ctx, "team-a", false, "one", &store.TemplatePool{Max: 3}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SetPool(ctx, "team-a", false, "two", &store.TemplatePool{Max: 1}); err != nil {
		t.Fatalf("up to the ceiling in all: %v", err)
	}
	if _, err := c.SetPool(ctx, "team-a", false, "three", &store.TemplatePool{Max: 1}); !errors.Is(err, errdefs.ErrPermissionDenied) {
		t.Fatalf("a third template past the team's ceiling: %v, want permission denied", err)
	}
	// Changing a template's own pool does not count its old max.
	if _, err := c.SetPool(ctx, "team-a", false, "one", &store.TemplatePool{Max: 2}); err != nil {
		t.Fatalf("lowering a pool: %v", err)
	}
	if _, err := c.SetPool(ctx, "team-a", false, "three", &store.TemplatePool{Max: 1}); err != nil {
		t.Fatalf("after room was made: %v", err)
	}
	if _, err := c.SetPool(ctx, "team-a", true, "three", &store.TemplatePool{Max: 10}); err != nil {
		t.Fatalf("an admin key: %v", err)
	}
}
