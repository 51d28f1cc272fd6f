package layer

import (
	"context"
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
	if err := s.Remove(context.Background(), d); err != nil || s.Has(d) {
		t.Errorf("remove: %v", err)
	}
}

// An alias survives a new Store on the same directory, is not listed as
// a layer, and takes only digest-like names (no paths).
func TestAlias(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "layers")
	s, err := New(dir)
	if err != nil {
		t.Fatal(err)
	}
	name, d := "sha256-aaaaaaaaaaaaaaaaaaaaaaaa", "sha256-bbbbbbbbbbbbbbbbbbbbbbbb"
	if _, ok := s.Alias(name); ok {
		t.Fatal("an alias before any was set")
	}
	if err := s.SetAlias(name, d); err != nil {
		t.Fatal(err)
	}
	s2, _ := New(dir)
	if got, ok := s2.Alias(name); !ok || got != d {
		t.Fatalf("alias after reopening: %q, %v", got, ok)
	}
	if l, _ := s2.List(); len(l) != 0 {
		t.Fatalf("aliases listed as layers: %v", l)
	}
	for _, bad := range [][2]string{{"../x", d}, {name, "../../etc"}, {"", d}} {
		if err := s.SetAlias(bad[0], bad[1]); err == nil {
			t.Errorf("SetAlias(%q, %q) accepted", bad[0], bad[1])
		}
	}
}
