package nodeagent

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	nodev1 "github.com/soulbox/soulbox/api/node/v1"
	"github.com/soulbox/soulbox/internal/node"
	"github.com/soulbox/soulbox/internal/registry"
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
	got := layersPresent(dir, nil)
	slices.Sort(got)
	if !slices.Equal(got, []string{"3f9a", "b71c"}) {
		t.Errorf("layers present %v, want [3f9a b71c]", got)
	}
	if got := layersPresent(t.TempDir(), nil); got != nil {
		t.Errorf("a node without layers reports %v", got)
	}
}

// TestLayersPresentBounded: a node holding more layers than a heartbeat
// may list reports as many as it may, those its creates used last first
// and then the newest installed, and the control plane accepts the
// report: the node is not lost for holding many layers.
func TestLayersPresentBounded(t *testing.T) {
	dir := t.TempDir()
	layers := filepath.Join(dir, "layers")
	if err := os.MkdirAll(layers, 0o700); err != nil {
		t.Fatal(err)
	}
	n := node.MaxReportedTemplates + 1
	name := func(i int) string { return fmt.Sprintf("key-%016x", i) }
	for i := range n {
		if err := os.Mkdir(filepath.Join(layers, name(i)), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	// Installed last (its directory changed last), and used: the first
	// ones installed are the ones left out, except the one used.
	time.Sleep(20 * time.Millisecond)
	newest := "key-ffffffffffffffff"
	if err := os.Mkdir(filepath.Join(layers, newest), 0o700); err != nil {
		t.Fatal(err)
	}
	use := &layerUse{}
	use.used(name(0))
	got := layersPresent(dir, use)
	if len(got) != node.MaxReportedTemplates {
		t.Fatalf("%d layers of %d reported, want %d", len(got), n+1, node.MaxReportedTemplates)
	}
	if got[0] != name(0) || !slices.Contains(got, newest) {
		t.Errorf("report starts %v, holds the newest %v; want the used layer first and the newest in", got[:3], slices.Contains(got, newest))
	}
	if _, err := registry.ReportOf(&nodev1.Capacity{CpuCount: 2, MemoryTotalBytes: 1 << 30, DiskTotalBytes: 1 << 30, Templates: got}); err != nil {
		t.Errorf("the control plane refuses the report: %v", err)
	}
}
