package catalog_test

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/soulbox/soulbox/internal/catalog"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/layer"
	"github.com/soulbox/soulbox/internal/objstore"
	"github.com/soulbox/soulbox/internal/objstore/s3test"
	"github.com/soulbox/soulbox/internal/runtime"
	"github.com/soulbox/soulbox/internal/runtime/oci/ocitest"
	"github.com/soulbox/soulbox/internal/store/sqlite"
)

// TestNodeLayers: with object storage, a template's layers are named so
// that another node can resolve them: its layer store layers by digest
// (a snapshot's files as a tree digest) and the base template's by their
// place in the template cache; the base template names none. Without
// object storage, or stacked on a base layer that is not the current
// one, only this host can start it, and the refusal says why.
func TestNodeLayers(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "soulbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ls, err := layer.New(filepath.Join(dir, "layers"))
	if err != nil {
		t.Fatal(err)
	}
	base := ocitest.Templates(t)
	c, err := catalog.New(ctx, catalog.Config{Store: st, Base: base, Dir: filepath.Join(dir, "files"), Layers: ls})
	if err != nil {
		t.Fatal(err)
	}
	baseLayers, err := base.Layers(ctx, "base")
	if err != nil {
		t.Fatal(err)
	}
	e := delEnv{c, st, ls}
	const digest = "key-3333333333333333333333333333333333333333333333333333333333333333"
	app := e.built(t, "team-a", "app", append([]string{e.layer(t, digest)}, baseLayers...)...)
	old := e.built(t, "team-a", "old", digest, filepath.Join(base.Dir(), "base", "000000000000", "rootfs"))
	// Recorded when the template cache was reached by another path.
	relBase, _ := filepath.Rel(base.Dir(), baseLayers[0])
	moved := e.built(t, "team-a", "moved", digest, filepath.Join("/srv/elsewhere/templates", relBase))

	if _, err := c.NodeLayers(ctx, app.ID); !errors.Is(err, errdefs.ErrFailedPrecondition) || !strings.Contains(err.Error(), "no object storage") {
		t.Errorf("NodeLayers without object storage = %v, want a precondition saying so", err)
	}

	obj, err := objstore.Open(ctx, s3test.Start(t, "soulbox").Config("soulbox"))
	if err != nil {
		t.Fatal(err)
	}
	ls.SetRemote(objstore.Layers{Store: obj, TmpDir: ls.Dir(), Log: slog.New(slog.DiscardHandler)})
	// Its layer was installed before there was object storage: not
	// named to a node until pushed, which the miss starts.
	if _, err := c.NodeLayers(ctx, app.ID); !errors.Is(err, errdefs.ErrFailedPrecondition) || !strings.Contains(err.Error(), "is not in object storage") {
		t.Errorf("NodeLayers of a layer not pushed = %v, want a precondition saying so", err)
	}
	if err := ls.WaitPushes(ctx); err != nil {
		t.Fatal(err)
	}
	blob, ok, _ := ls.Blob(ctx, digest)
	if !ok || !blob.Valid() {
		t.Fatalf("after the push the layer's archive is %+v, %v", blob, ok)
	}
	got, err := c.NodeLayers(ctx, app.ID)
	rel, _ := filepath.Rel(base.Dir(), baseLayers[0])
	if err != nil || len(got) != 2 || got[0] != (runtime.TemplateLayer{Digest: digest, Blob: blob.Digest, Size: blob.Size}) || got[1] != (runtime.TemplateLayer{Base: rel}) {
		t.Errorf("NodeLayers = %+v, %v; want [%s as %+v, base %s]", got, err, digest, blob, rel)
	}
	if got, err := c.NodeLayers(ctx, moved.ID); err != nil || len(got) != 2 || got[1] != (runtime.TemplateLayer{Base: rel}) {
		t.Errorf("NodeLayers of a build recorded under another cache path = %+v, %v; want base %s", got, err, rel)
	}
	if got, err := c.NodeLayers(ctx, "base"); err != nil || got != nil {
		t.Errorf("NodeLayers of the base template = %+v, %v; want none", got, err)
	}
	if _, err := c.NodeLayers(ctx, old.ID); !errors.Is(err, errdefs.ErrFailedPrecondition) || !strings.Contains(err.Error(), "a layer of this host only") {
		t.Errorf("NodeLayers of a template on an older base = %v, want a precondition saying so", err)
	}
}
