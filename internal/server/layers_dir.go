package server

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
)

// layersDir is where the layers of this server's custom templates and
// snapshots live: in its data dir, beside the database that records
// them. The template cache (templatesDir) holds only what any server can
// rebuild, the base template, and may be shared by several servers on
// one host; layers may not: a server frees the layers its own records
// do not use, which would be another server's.
func (c Config) layersDir() string {
	return filepath.Join(c.DataDir, "layers")
}

// moveLegacyLayers moves the layers an older server kept inside its
// template cache (<templates-dir>/layers) to the data dir, once: only
// when the cache is the data dir's own (the default), so that no server
// takes another's layers from a cache they share. An older layout in a
// cache set with --templates-dir is left where it is, with a warning
// saying how to move it.
func (c Config) moveLegacyLayers(log *slog.Logger) error {
	legacy := filepath.Join(c.templatesDir(), "layers")
	if _, err := os.Lstat(legacy); errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("look for layers of an older layout: %w", err)
	}
	if _, err := os.Lstat(c.layersDir()); err == nil {
		return nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("layers dir: %w", err)
	}
	if filepath.Clean(c.templatesDir()) != filepath.Join(c.DataDir, "templates") {
		log.Warn("template layers of an older layout are in the template cache and no longer read: if they are this server's, move them to its data dir",
			"from", legacy, "to", c.layersDir())
		return nil
	}
	if err := os.Rename(legacy, c.layersDir()); err != nil {
		return fmt.Errorf("move the template layers to the data dir: %w", err)
	}
	log.Info("moved template layers to the data dir", "from", legacy, "to", c.layersDir())
	return nil
}
