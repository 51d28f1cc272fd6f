package diskusage

import (
	"os"
	"path/filepath"
	"testing"
)

// Of counts what files have allocated (a sparse file only what it
// wrote), below subdirectories too, and a missing tree as empty.
func TestOf(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "a", "b"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "a", "b", "data"), make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(root, "sparse"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(1 << 30); err != nil {
		t.Fatal(err)
	}
	f.Close()
	got, err := Of(root)
	if err != nil {
		t.Fatal(err)
	}
	if got < 1<<20 || got > 2<<20 {
		t.Errorf("Of = %d bytes, want about the 1 MiB written (the sparse GiB takes nothing)", got)
	}
	if got, err := Of(filepath.Join(root, "missing")); err != nil || got != 0 {
		t.Errorf("Of(missing) = %d, %v; want 0, nil", got, err)
	}
}
