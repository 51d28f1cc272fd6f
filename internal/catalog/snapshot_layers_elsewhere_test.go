package catalog_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/soulbox/soulbox/internal/catalog"
	"github.com/soulbox/soulbox/internal/layer"
	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/sqlite"
)

// TestSnapshotRecordNamesNoHostPath: a snapshot's build records its
// layer and checkpoint by digest, not by where this host keeps them, so
// a host whose data directory is elsewhere (sharing the store, its layer
// store holding the same layers) resolves both in its own layer store.
func TestSnapshotRecordNamesNoHostPath(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "soulbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	open := func(layers string) (*catalog.Catalog, *layer.Store) {
		t.Helper()
		ls, err := layer.New(layers)
		if err != nil {
			t.Fatal(err)
		}
		c, err := catalog.New(ctx, catalog.Config{Store: st, Base: baseLayers{}, Dir: filepath.Join(dir, "files"), Layers: ls})
		if err != nil {
			t.Fatal(err)
		}
		return c, ls
	}
	// Not named "layers": only a record by digest finds them elsewhere.
	here, hereLayers := open(filepath.Join(dir, "host-a", "store-a"))
	sb := store.Sandbox{ID: "sbx1", TemplateID: "base", ClientID: "teamA", State: store.StateRunning}
	upper := t.TempDir()
	if err := os.WriteFile(filepath.Join(upper, "f"), []byte("kept"), 0o644); err != nil {
		t.Fatal(err)
	}
	snap, err := here.CreateSnapshot(ctx, sb, "", upper, 0, func(dir string) (bool, error) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return false, err
		}
		return false, os.WriteFile(filepath.Join(dir, "checkpoint.json"), []byte("{}"), 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
	builds, err := st.ListBuilds(ctx, snap.ID)
	if err != nil || len(builds) != 1 {
		t.Fatalf("the snapshot's builds: %v, %v", builds, err)
	}
	if rec := strings.Join(builds[0].Layers, " ") + " " + builds[0].Request; strings.Contains(rec, hereLayers.Dir()) {
		t.Errorf("the snapshot's build names this host's layer store: %s", rec)
	}

	// The other host: the same layers in a layer store of its own.
	there, thereLayers := open(filepath.Join(dir, "host-b", "store-b"))
	if err := os.Remove(thereLayers.Dir()); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(hereLayers.Dir(), thereLayers.Dir()); err != nil {
		t.Fatal(err)
	}
	layers, err := there.Layers(ctx, snap.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != 2 || filepath.Dir(layers[0]) != thereLayers.Dir() || layers[1] != "/base/rootfs" {
		t.Errorf("the snapshot's layers on the other host: %v, want its own layer and the base's", layers)
	}
	cp, _, ok, err := there.SnapshotCheckpoint(ctx, snap.ID)
	if err != nil || !ok || filepath.Dir(cp) != thereLayers.Dir() {
		t.Errorf("the snapshot's checkpoint on the other host: %q, %v, %v", cp, ok, err)
	}
	if _, err := os.Stat(filepath.Join(cp, "checkpoint.json")); err != nil {
		t.Error(err)
	}
}
