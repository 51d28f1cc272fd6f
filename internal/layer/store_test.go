package layer

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestStoreInstallIsAtomicAndPrivate(t *testing.T) {
	s, err := New(filepath.Join(t.TempDir(), "layers"))
	if err != nil {
		t.Fatal(err)
	}
	// Host users must not reach setuid files an untrusted build made.
	if fi, _ := os.Stat(s.Dir()); fi.Mode().Perm() != 0o700 {
		t.Errorf("layer store mode %v, want 0700", fi.Mode().Perm())
	}
	d := "key-0123456789abcdef0123"
	if err := s.Install(d, func(dir string) error {
		os.WriteFile(filepath.Join(dir, "half"), nil, 0o644)
		return errors.New("boom")
	}); err == nil || s.Has(d) {
		t.Fatalf("a failed fill installed the layer: %v", err)
	}
	if left, _ := os.ReadDir(s.Dir()); len(left) != 0 {
		t.Errorf("a failed fill left %v", left)
	}
	calls := 0
	fill := func(dir string) error { calls++; return os.WriteFile(filepath.Join(dir, "f"), []byte("x"), 0o644) }
	if err := s.Install(d, fill); err != nil {
		t.Fatal(err)
	}
	if err := s.Install(d, fill); err != nil || calls != 1 {
		t.Errorf("an installed layer was filled again (%d calls, %v)", calls, err)
	}
	if err := s.Install("../x", fill); err == nil {
		t.Error("a digest with a path was accepted")
	}
	if err := s.Remove(d); err != nil || s.Has(d) {
		t.Errorf("remove: %v", err)
	}
}
