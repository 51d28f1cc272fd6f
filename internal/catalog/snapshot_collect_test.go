package catalog_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/soulbox/soulbox/internal/store"
)

// TestSnapshotCheckpointSurvivesOtherDeletes: deleting a template
// collects unused layers, and a memory snapshot's checkpoint is in use
// for as long as its snapshot lives, whoever deletes what.
func TestSnapshotCheckpointSurvivesOtherDeletes(t *testing.T) {
	e := openWithLayers(t)
	ctx := context.Background()
	upper := t.TempDir()
	if err := os.WriteFile(filepath.Join(upper, "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	sb := store.Sandbox{ID: "sbx1", TemplateID: "base", ClientID: "teamA", State: store.StateRunning}
	snap, err := e.c.CreateSnapshot(ctx, sb, "", upper, 0, func(dir string) (bool, error) {
		if err := os.MkdirAll(filepath.Join(dir, "images"), 0o700); err != nil {
			return false, err
		}
		return false, os.WriteFile(filepath.Join(dir, "checkpoint.json"), []byte("{}"), 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
	dir, _, ok, err := e.c.SnapshotCheckpoint(ctx, snap.ID)
	if err != nil || !ok {
		t.Fatalf("the snapshot's checkpoint: %v, %v", ok, err)
	}
	other := e.built(t, "teamB", "other", e.layer(t, digestOwn))
	if err := e.c.Delete(ctx, "teamB", other.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "checkpoint.json")); err != nil {
		t.Fatalf("the snapshot's checkpoint is gone after another team's template delete: %v", err)
	}
}
