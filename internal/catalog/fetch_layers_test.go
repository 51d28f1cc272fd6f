package catalog_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/soulbox/soulbox/internal/catalog"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/layer"
	"github.com/soulbox/soulbox/internal/objstore"
	"github.com/soulbox/soulbox/internal/objstore/s3test"
	"github.com/soulbox/soulbox/internal/store/sqlite"
	"github.com/soulbox/soulbox/internal/testutil"
)

// hostLayers is one host's layer store, sharing obj as its remote.
func hostLayers(t *testing.T, obj *objstore.Store) *layer.Store {
	t.Helper()
	ls, err := layer.New(filepath.Join(t.TempDir(), "layers"))
	if err != nil {
		t.Fatal(err)
	}
	ls.SetRemote(objstore.Layers{Store: obj, TmpDir: ls.Dir(), Log: slog.New(slog.DiscardHandler)})
	return ls
}

// TestLayersFetchedFromObjectStorage: a layer installed on one host is
// pushed to object storage; a host whose template names it but lacks it
// fetches it when a sandbox is created from the template (the runtime's
// Layers call), and a corrupted copy is refused with nothing installed.
func TestLayersFetchedFromObjectStorage(t *testing.T) {
	testutil.RequiresRoot(t)
	ctx := context.Background()
	srv := s3test.Start(t, "soulbox")
	obj, err := objstore.Open(ctx, srv.Config("soulbox"))
	if err != nil {
		t.Fatal(err)
	}
	const digest = "key-3333333333333333333333333333333333333333333333333333333333333333"

	// The host that built the layer.
	builder := hostLayers(t, obj)
	if err := builder.Install(digest, func(dir string) error {
		if err := os.WriteFile(filepath.Join(dir, "tool"), []byte("#!/bin/sh\necho built\n"), 0o755); err != nil {
			return err
		}
		return os.Chown(filepath.Join(dir, "tool"), 100000, 100000)
	}); err != nil {
		t.Fatal(err)
	}
	if err := builder.WaitPushes(ctx); err != nil {
		t.Fatal(err)
	}
	ref, err := obj.GetRef(ctx, "layers/"+digest)
	if err != nil {
		t.Fatalf("the installed layer was not pushed: %v", err)
	}

	// Another host, whose store holds the template's build.
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "soulbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ls := hostLayers(t, obj)
	c, err := catalog.New(ctx, catalog.Config{Store: st, Base: baseLayers{}, Dir: filepath.Join(dir, "files"), Layers: ls})
	if err != nil {
		t.Fatal(err)
	}
	e := delEnv{c, st, ls}
	tpl := e.built(t, "team-a", "tools", ls.Path(digest))

	blob := srv.BlobPath("soulbox", ref.Digest)
	whole, err := os.ReadFile(blob)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(blob, whole[:len(whole)-512], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Layers(ctx, tpl.ID); !errors.Is(err, errdefs.ErrFailedPrecondition) || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("Layers with a truncated copy: %v; want it refused", err)
	}
	if ls.Has(digest) {
		t.Fatal("a refused layer was installed")
	}
	if entries, _ := os.ReadDir(ls.Dir()); len(entries) != 0 {
		t.Fatalf("a refused fetch left %d entries in the layer store", len(entries))
	}

	if err := os.WriteFile(blob, whole, 0o644); err != nil {
		t.Fatal(err)
	}
	paths, err := c.Layers(ctx, tpl.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) != 1 || paths[0] != ls.Path(digest) || !ls.Has(digest) {
		t.Fatalf("Layers: %v, installed %v", paths, ls.Has(digest))
	}
	b, err := os.ReadFile(filepath.Join(paths[0], "tool"))
	if err != nil || string(b) != "#!/bin/sh\necho built\n" {
		t.Fatalf("fetched layer's file: %q, %v", b, err)
	}
	fi, _ := os.Stat(filepath.Join(paths[0], "tool"))
	if fi.Mode().Perm() != 0o755 {
		t.Errorf("fetched file mode %v, want 0755", fi.Mode())
	}

	// A layer the object storage never had: a clear not-found.
	missing := e.built(t, "team-a", "missing", ls.Path("key-4444444444444444444444444444444444444444444444444444444444444444"))
	if _, err := c.Layers(ctx, missing.ID); !errdefs.IsNotFound(err) || !strings.Contains(err.Error(), "object storage") {
		t.Fatalf("Layers of a layer nowhere: %v; want not found, naming the object storage", err)
	}
}
