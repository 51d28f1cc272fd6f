package catalog_test

import (
	"context"
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
	"github.com/soulbox/soulbox/internal/runtime"
	"github.com/soulbox/soulbox/internal/runtime/oci"
	"github.com/soulbox/soulbox/internal/runtime/oci/ocitest"
	"github.com/soulbox/soulbox/internal/store/sqlite"
)

// TestCreateFetchesMissingLayer: a template built on another host, one of
// whose layers this host's layer store lacks, starts here: the runtime's
// create resolves the template through the catalog, which fetches the
// layer from object storage into this host's layer store (the build
// names it by the other host's path, in a data directory this host does
// not have), and the sandbox sees the layer's file.
func TestCreateFetchesMissingLayer(t *testing.T) {
	if testing.Short() {
		t.Skip("creates a real sandbox")
	}
	ctx := context.Background()
	srv := s3test.Start(t, "soulbox")
	obj, err := objstore.Open(ctx, srv.Config("soulbox"))
	if err != nil {
		t.Fatal(err)
	}
	const digest = "key-5555555555555555555555555555555555555555555555555555555555555555"
	elsewhere := hostLayers(t, obj)
	if err := elsewhere.Install(digest, func(dir string) error {
		if err := os.Mkdir(filepath.Join(dir, "opt"), 0o755); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, "opt", "built-elsewhere"), []byte("from the other host\n"), 0o644)
	}); err != nil {
		t.Fatal(err)
	}
	if err := elsewhere.WaitPushes(ctx); err != nil {
		t.Fatal(err)
	}
	// The build is recorded as the other host wrote it down, in its own
	// data directory, which is not on this host.
	recorded := elsewhere.Path(digest)
	if err := os.RemoveAll(filepath.Dir(elsewhere.Dir())); err != nil {
		t.Fatal(err)
	}

	// This host: its own store, layer store (without the layer) and
	// runtime, the base template's layers from the shared cache.
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
	ls.SetRemote(objstore.Layers{Store: obj, TmpDir: ls.Dir(), Log: slog.New(slog.DiscardHandler)})
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
	tpl := e.built(t, "team-a", "elsewhere", append([]string{recorded}, baseLayers...)...)
	if ls.Has(digest) {
		t.Fatal("the layer is already here")
	}

	d, err := oci.New(oci.Config{Root: ocitest.Root(t), AgentPath: ocitest.AgentBinary(t), Templates: c})
	if err != nil {
		t.Fatal(err)
	}
	const id = "fetchedlayer1"
	if _, err := d.Create(ctx, runtime.Spec{ID: id, Template: tpl.ID}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := d.Destroy(context.Background(), id); err != nil && !errdefs.IsNotFound(err) {
			t.Errorf("destroy: %v", err)
		}
	})
	if err := d.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	res, err := d.Exec(ctx, id, runtime.ExecRequest{Args: []string{"cat", "/opt/built-elsewhere"}, Stdout: &out, Stderr: &out})
	if err != nil || res.ExitCode != 0 || out.String() != "from the other host\n" {
		t.Fatalf("the fetched layer's file in the sandbox: %q, exit %d, %v", out.String(), res.ExitCode, err)
	}
	if !ls.Has(digest) {
		t.Error("the layer was not installed in this host's layer store")
	}
}
