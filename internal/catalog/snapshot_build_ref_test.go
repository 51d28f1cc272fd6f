package catalog_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/soulbox/soulbox/internal/store"
)

// TestSnapshotRestoreStacksItsOwnBuild: a snapshot whose checkpoint
// keeps no copy of the files is restored on the layers of the build it
// was saved with, even when the snapshot is taken again under its name
// before the restore resolves them; one whose checkpoint holds the files
// (as every snapshot did before) is restored on its source's template.
func TestSnapshotRestoreStacksItsOwnBuild(t *testing.T) {
	e := openWithLayers(t)
	ctx := context.Background()
	sb := store.Sandbox{ID: "sbx1", TemplateID: "base", ClientID: "teamA", State: store.StateRunning}
	take := func(content string, withFiles bool) (dir, from string) {
		t.Helper()
		upper := t.TempDir()
		if err := os.WriteFile(filepath.Join(upper, "f"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		snap, err := e.c.CreateSnapshot(ctx, sb, "named", upper, 0, func(dir string) (bool, error) {
			if err := os.MkdirAll(filepath.Join(dir, "images"), 0o700); err != nil {
				return false, err
			}
			return withFiles, os.WriteFile(filepath.Join(dir, "checkpoint.json"), []byte(content), 0o600)
		})
		if err != nil {
			t.Fatal(err)
		}
		dir, from, ok, err := e.c.SnapshotCheckpoint(ctx, snap.ID)
		if err != nil || !ok {
			t.Fatalf("the snapshot's checkpoint: %v %v", ok, err)
		}
		return dir, from
	}
	_, from := take("one", false)
	first, err := e.c.Layers(ctx, from)
	if err != nil {
		t.Fatal(err)
	}
	take("two", false)
	again, err := e.c.Layers(ctx, from)
	if err != nil {
		t.Fatal(err)
	}
	newest, err := e.c.Layers(ctx, "named")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(first, again) || slices.Equal(first, newest) {
		t.Errorf("the first snapshot's restore stacks %v after the name was taken again (first %v, newest %v)", again, first, newest)
	}
	if _, from := take("three", true); from != "base" {
		t.Errorf("a checkpoint holding the files is restored on %q, want the source's template base", from)
	}
	if _, err := e.c.Layers(ctx, "named@bldnone"); err == nil {
		t.Error("a build ref of no build resolved")
	}
}
