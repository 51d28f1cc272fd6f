package template

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/soulbox/soulbox/internal/errdefs"
)

func TestResolve(t *testing.T) {
	s := newTestStore(t, t.TempDir(), nil)
	for _, name := range []string{"base", "code-interpreter-v1"} {
		got, err := s.Resolve(name)
		if err != nil || got != "base" {
			t.Errorf("Resolve(%q) = %q, %v; want base", name, got, err)
		}
	}
}

func TestResolveUnknown(t *testing.T) {
	s := newTestStore(t, t.TempDir(), nil)
	for _, name := range []string{"nope", "Base", "base-v2"} {
		_, err := s.Resolve(name)
		if !errors.Is(err, errdefs.ErrNotFound) {
			t.Errorf("Resolve(%q) error = %v; want ErrNotFound", name, err)
			continue
		}
		for _, known := range []string{"base", "code-interpreter-v1"} {
			if !strings.Contains(err.Error(), known) {
				t.Errorf("Resolve(%q) error %q does not list %q", name, err, known)
			}
		}
	}
}

func TestResolveInvalid(t *testing.T) {
	s := newTestStore(t, t.TempDir(), nil)
	for _, name := range []string{"", "a/b", "/base", "..", "../base", ".hidden", "base..", ".", "ba se", "base\x00", strings.Repeat("a", 200)} {
		if _, err := s.Resolve(name); !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("Resolve(%q) error = %v; want ErrInvalidArgument", name, err)
		}
	}
}

func TestEnsureRejectsBadNamesWithoutTouchingDisk(t *testing.T) {
	dir := t.TempDir()
	s := newTestStore(t, dir, func(ctx context.Context, rootfs string) error {
		t.Error("build ran for a bad name")
		return nil
	})
	if _, err := s.Ensure(t.Context(), "../etc"); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("Ensure(../etc) error = %v; want ErrInvalidArgument", err)
	}
	if _, err := s.Layers(t.Context(), "nope"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("Layers(nope) error = %v; want ErrNotFound", err)
	}
	if err := s.Rebuild(t.Context(), ""); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("Rebuild(\"\") error = %v; want ErrInvalidArgument", err)
	}
	assertDirEntries(t, dir)
}
