package oci

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/soulbox/soulbox/internal/runtime/oci/ocitest"
)

// A starting driver removes the temporary files of blank disk formats a
// crash interrupted and the blank images of older format versions, and
// keeps the current version's.
func TestStartSweepsStaleBlankDisks(t *testing.T) {
	root := ocitest.Root(t)
	dir := filepath.Join(root, "disks")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	current := "blank-v" + blankDiskVersion + "-256M.img"
	stale := []string{".blank-123456", "blank-v0-256M.img", "blank-v0-512M.img"}
	for _, name := range append([]string{current}, stale...) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := New(Config{Root: root, AgentPath: ocitest.AgentBinary(t), Templates: ocitest.Templates(t)}); err != nil {
		t.Fatal(err)
	}
	for _, name := range stale {
		if _, err := os.Stat(filepath.Join(dir, name)); !os.IsNotExist(err) {
			t.Errorf("%s kept after the driver started (%v)", name, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, current)); err != nil {
		t.Errorf("the current blank image: %v", err)
	}
}
