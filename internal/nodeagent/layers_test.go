package nodeagent

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestLayersPresent: a heartbeat reports the layers a node holds, not
// the layer store's hidden entries (its aliases, a layer half written).
func TestLayersPresent(t *testing.T) {
	dir := t.TempDir()
	layers := filepath.Join(dir, "layers")
	for _, d := range []string{"3f9a", "b71c", ".aliases", ".new-77e1"} {
		if err := os.MkdirAll(filepath.Join(layers, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(layers, "note"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	got := layersPresent(dir)
	slices.Sort(got)
	if !slices.Equal(got, []string{"3f9a", "b71c"}) {
		t.Errorf("layers present %v, want [3f9a b71c]", got)
	}
	if got := layersPresent(t.TempDir()); got != nil {
		t.Errorf("a node without layers reports %v", got)
	}
}
