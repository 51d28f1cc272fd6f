package catalog_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/catalog"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/sqlite"
)

type baseLayers struct{}

func (baseLayers) Layers(context.Context, string) ([]string, error) {
	return []string{"/base/rootfs"}, nil
}

func open(t *testing.T, path string) (*catalog.Catalog, store.Store) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	c, err := catalog.New(ctx, catalog.Config{Store: st, Base: baseLayers{}, Dir: filepath.Join(filepath.Dir(path), "files")})
	if err != nil {
		t.Fatal(err)
	}
	return c, st
}

func TestBaseIsAnOrdinaryTemplate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "soulbox.db")
	c, st := open(t, path)
	defer st.Close()
	ctx := context.Background()
	for _, name := range []string{"base", "code-interpreter-v1", "base:default"} {
		id, err := c.Resolve(name)
		if err != nil || id != catalog.BaseID {
			t.Errorf("resolve %q: %q, %v", name, id, err)
		}
		if l, err := c.Layers(ctx, name); err != nil || l[0] != "/base/rootfs" {
			t.Errorf("layers of %q: %v, %v", name, l, err)
		}
	}
	if _, err := c.Resolve("nope"); !errdefs.IsNotFound(err) {
		t.Errorf("unknown template: %v", err)
	}
	if err := c.Delete(ctx, "", "base"); !errdefs.IsFailedPrecondition(err) {
		t.Errorf("deleting base: %v", err)
	}
	infos, err := c.List(ctx, "team-a")
	if err != nil || len(infos) != 1 || infos[0].Template.ID != "base" {
		t.Errorf("list: %+v, %v", infos, err)
	}
}

func TestInterruptedBuildFailsAtRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "soulbox.db")
	c, st := open(t, path)
	ctx := context.Background()
	tpl, b, tags, err := c.RequestBuild(ctx, catalog.BuildRequest{Team: "team-a", Name: "py:v1"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(tags, ",") != "v1" {
		t.Errorf("tags %v", tags)
	}
	if err := st.StartBuild(ctx, tpl.ID, b.ID, "{}", time.Time{}); err != nil {
		t.Fatal(err)
	}
	// The same name from another team is refused; from the same team it is
	// a new build of the same template.
	if _, _, _, err := c.RequestBuild(ctx, catalog.BuildRequest{Team: "team-b", Name: "py"}); !errdefs.IsAlreadyExists(err) {
		t.Errorf("another team's name: %v", err)
	}
	again, _, _, err := c.RequestBuild(ctx, catalog.BuildRequest{Team: "team-a", Name: "py"})
	if err != nil || again.ID != tpl.ID {
		t.Errorf("rebuild: %v, %v", again.ID, err)
	}
	st.Close()

	_, st2 := open(t, path) // a restart
	defer st2.Close()
	got, err := st2.GetBuild(ctx, tpl.ID, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != store.BuildError || !strings.Contains(got.Reason, "server stopped") {
		t.Errorf("interrupted build after restart: %s %q", got.Status, got.Reason)
	}
	if _, err := st2.GetTemplate(ctx, "py"); err != nil {
		t.Errorf("the template did not survive the restart: %v", err)
	}
}

// A team may start sandboxes from its own templates, public ones and the
// server's, never from another team's private one, which it is told does
// not exist.
func TestUsableByTeam(t *testing.T) {
	c, st := open(t, filepath.Join(t.TempDir(), "soulbox.db"))
	defer st.Close()
	ctx := context.Background()
	tpl, _, _, err := c.RequestBuild(ctx, catalog.BuildRequest{Team: "team-a", Name: "secret-app"})
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"secret-app", "secret-app:default", tpl.ID} {
		if err := c.Usable(ctx, "team-a", ref); err != nil {
			t.Errorf("its own team, %q: %v", ref, err)
		}
		if err := c.Usable(ctx, "team-b", ref); !errdefs.IsNotFound(err) {
			t.Errorf("another team, %q: %v, want not found", ref, err)
		}
	}
	if err := c.Usable(ctx, "team-b", "base"); err != nil {
		t.Errorf("the server's base template: %v", err)
	}
}
