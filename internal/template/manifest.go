package template

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/soulbox/soulbox/internal/durable"
)

const manifestFile = "manifest.json"

// manifest records a finished build. Its presence is what makes a build
// count, so it is written only after the build is complete and on disk.
type manifest struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	// Build is the directory under <dir>/<name> holding this build.
	Build string `json:"build"`
	// Layers are relative to the build directory, topmost first.
	Layers    []string  `json:"layers"`
	BuiltAt   time.Time `json:"built_at"`
	SizeBytes int64     `json:"size_bytes"`
	// The rest is for people reading the cache, not for the code.
	Suite    string   `json:"suite,omitempty"`
	Mirror   string   `json:"mirror,omitempty"`
	Packages []string `json:"packages,omitempty"`
}

// readManifest reads the manifest in nameDir. It returns (nil, nil) when
// there is none, so callers can tell "not built" from "cannot tell".
func readManifest(nameDir string) (*manifest, error) {
	b, err := os.ReadFile(filepath.Join(nameDir, manifestFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read template manifest: %w", err)
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("parse template manifest %s: %w", filepath.Join(nameDir, manifestFile), err)
	}
	if err := m.validate(); err != nil {
		return nil, fmt.Errorf("template manifest %s: %w", filepath.Join(nameDir, manifestFile), err)
	}
	return &m, nil
}

// validate keeps a hand-edited or corrupt manifest from pointing the driver
// outside the template's directory.
func (m *manifest) validate() error {
	if !isPlainName(m.Build) {
		return fmt.Errorf("bad build directory %q", m.Build)
	}
	if len(m.Layers) == 0 {
		return errors.New("no layers")
	}
	for _, l := range m.Layers {
		if !filepath.IsLocal(l) {
			return fmt.Errorf("bad layer path %q", l)
		}
	}
	return nil
}

// isPlainName reports whether s is a single path element.
func isPlainName(s string) bool {
	return s != "" && s != "." && s != ".." && !strings.ContainsRune(s, '/')
}

// writeManifest replaces the manifest in nameDir atomically: readers see the
// old one or the new one, never a torn file, even across a crash.
func writeManifest(nameDir string, m *manifest) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("encode template manifest: %w", err)
	}
	if err := durable.WriteFile(filepath.Join(nameDir, manifestFile), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write template manifest: %w", err)
	}
	return nil
}
