package server

import (
	"log/slog"
	"os"
	"path/filepath"
	"testing"
)

// TestLayersLiveInTheDataDir: a server's layers are in its data dir, so
// that two servers sharing a template cache never free each other's;
// layers an older server kept in its own cache move there once, and
// those in a cache set apart are left alone.
func TestLayersLiveInTheDataDir(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	layer := func(dir string) string {
		p := filepath.Join(dir, "key-1", "etc")
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		return filepath.Join(dir, "key-1")
	}

	t.Run("default cache", func(t *testing.T) {
		c := Config{DataDir: t.TempDir()}
		if got, want := c.layersDir(), filepath.Join(c.DataDir, "layers"); got != want {
			t.Fatalf("layersDir = %s, want %s", got, want)
		}
		layer(filepath.Join(c.DataDir, "templates", "layers"))
		if err := c.moveLegacyLayers(log); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(c.layersDir(), "key-1", "etc")); err != nil {
			t.Fatalf("the older layout's layer was not moved: %v", err)
		}
		if _, err := os.Stat(filepath.Join(c.DataDir, "templates", "layers")); !os.IsNotExist(err) {
			t.Fatalf("the older layout's dir is still there: %v", err)
		}
		// Once moved, a second start changes nothing.
		if err := c.moveLegacyLayers(log); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("shared cache", func(t *testing.T) {
		shared := t.TempDir()
		c := Config{DataDir: t.TempDir(), TemplatesDir: shared}
		if c.layersDir() == filepath.Join(shared, "layers") {
			t.Fatalf("layers in the shared cache: %s", c.layersDir())
		}
		other := layer(filepath.Join(shared, "layers"))
		if err := c.moveLegacyLayers(log); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(other); err != nil {
			t.Fatalf("a layer in a shared cache was taken: %v", err)
		}
		if _, err := os.Stat(c.layersDir()); !os.IsNotExist(err) {
			t.Fatalf("layers dir made from a shared cache: %v", err)
		}
	})

	t.Run("both layouts", func(t *testing.T) {
		c := Config{DataDir: t.TempDir()}
		layer(filepath.Join(c.DataDir, "templates", "layers"))
		if err := os.MkdirAll(c.layersDir(), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := c.moveLegacyLayers(log); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(c.layersDir(), "key-1")); !os.IsNotExist(err) {
			t.Fatalf("the older layout was merged into an existing layers dir: %v", err)
		}
	})
}
