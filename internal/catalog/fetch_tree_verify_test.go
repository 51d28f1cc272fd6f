package catalog_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/soulbox/soulbox/internal/catalog"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/layer"
	"github.com/soulbox/soulbox/internal/objstore"
	"github.com/soulbox/soulbox/internal/objstore/s3test"
	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/sqlite"
	"github.com/soulbox/soulbox/internal/testutil"
)

// TestFetchedSnapshotVerified: a snapshot made on one host starts on
// another, which fetches its files and checkpoint and hashes them again;
// a ref in the bucket replaced to name other content (anyone with the
// bucket's credentials can) is refused with nothing installed.
func TestFetchedSnapshotVerified(t *testing.T) {
	testutil.RequiresRoot(t)
	ctx := context.Background()
	srv := s3test.Start(t, "soulbox")
	obj, err := objstore.Open(ctx, srv.Config("soulbox"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "soulbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	host := func() (*catalog.Catalog, *layer.Store) {
		ls := hostLayers(t, obj)
		c, err := catalog.New(ctx, catalog.Config{Store: st, Base: baseLayers{}, Dir: filepath.Join(t.TempDir(), "files"), Layers: ls})
		if err != nil {
			t.Fatal(err)
		}
		return c, ls
	}
	made, madeLayers := host()
	sb := store.Sandbox{ID: "sbx1", TemplateID: "base", ClientID: "teamA", State: store.StateRunning}
	upper := t.TempDir()
	if err := os.WriteFile(filepath.Join(upper, "f"), []byte("kept"), 0o644); err != nil {
		t.Fatal(err)
	}
	snap, err := made.CreateSnapshot(ctx, sb, "", upper, 0, func(dir string) (bool, error) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return false, err
		}
		return false, os.WriteFile(filepath.Join(dir, "checkpoint.json"), []byte("{}"), 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := madeLayers.WaitPushes(ctx); err != nil {
		t.Fatal(err)
	}

	other, _ := host()
	layers, err := other.Layers(ctx, snap.ID)
	if err != nil {
		t.Fatalf("the snapshot's layers on another host: %v", err)
	}
	if _, _, _, err := other.SnapshotCheckpoint(ctx, snap.ID); err != nil {
		t.Fatalf("the snapshot's checkpoint on another host: %v", err)
	}

	// The snapshot's files' ref replaced to name another layer's blob.
	const decoy = "key-6666666666666666666666666666666666666666666666666666666666666666"
	if err := madeLayers.Install(decoy, func(dir string) error {
		return os.WriteFile(filepath.Join(dir, "f"), []byte("replaced"), 0o644)
	}); err != nil {
		t.Fatal(err)
	}
	if err := madeLayers.WaitPushes(ctx); err != nil {
		t.Fatal(err)
	}
	ref, err := obj.GetRef(ctx, "layers/"+decoy)
	if err != nil {
		t.Fatal(err)
	}
	files := filepath.Base(layers[0])
	if err := obj.PutRef(ctx, "layers/"+files, ref); err != nil {
		t.Fatal(err)
	}
	third, thirdLayers := host()
	_, err = third.Layers(ctx, snap.ID)
	if !errdefs.IsFailedPrecondition(err) || !strings.Contains(err.Error(), "hashes to") {
		t.Fatalf("a snapshot whose files' ref names other content: %v; want it refused", err)
	}
	if thirdLayers.Has(files) {
		t.Error("the refused layer was installed")
	}
}
