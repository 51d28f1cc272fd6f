package secrets

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/soulbox/soulbox/internal/errdefs"
)

func TestSealOpen(t *testing.T) {
	dir := t.TempDir()
	s, err := Load(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, KeyFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, %v", fi, err)
	}
	value := []byte("sk-live-0123456789")
	sealed := s.Seal("team-a", "sec_1", value)
	if bytes.Contains(sealed, value) {
		t.Fatal("the sealed value holds the value in the clear")
	}
	if again := s.Seal("team-a", "sec_1", value); bytes.Equal(again, sealed) {
		t.Error("two seals of one value are equal: the nonce is not fresh")
	}
	// The same key file opens it again (a restart).
	s2, err := Load(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s2.Open("team-a", "sec_1", sealed); err != nil || !bytes.Equal(got, value) {
		t.Fatalf("open = %q, %v", got, err)
	}

	// Copied to another team's or secret's row, changed, or under
	// another key: it does not open.
	other, err := Load(t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	flipped := bytes.Clone(sealed)
	flipped[len(flipped)-1] ^= 1
	for name, open := range map[string]func() ([]byte, error){
		"another team":   func() ([]byte, error) { return s.Open("team-b", "sec_1", sealed) },
		"another secret": func() ([]byte, error) { return s.Open("team-a", "sec_2", sealed) },
		"shifted ids":    func() ([]byte, error) { return s.Open("team-as", "ec_1", sealed) },
		"changed":        func() ([]byte, error) { return s.Open("team-a", "sec_1", flipped) },
		"truncated":      func() ([]byte, error) { return s.Open("team-a", "sec_1", sealed[:5]) },
		"another key":    func() ([]byte, error) { return other.Open("team-a", "sec_1", sealed) },
	} {
		if v, err := open(); !errors.Is(err, errdefs.ErrFailedPrecondition) || v != nil {
			t.Errorf("%s: open = %q, %v; want it refused", name, v, err)
		}
	}
}

func TestLoadKeyFile(t *testing.T) {
	dir := t.TempDir()
	named := filepath.Join(dir, "named.key")
	if _, err := Load(dir, named); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("missing named key = %v, want ErrNotFound (no new key in its place)", err)
	}
	if _, err := os.Stat(named); err == nil {
		t.Error("a missing named key file was made")
	}
	key := []byte("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n")
	if err := os.WriteFile(named, key, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dir, named); !errors.Is(err, errdefs.ErrFailedPrecondition) {
		t.Errorf("key readable by others = %v, want ErrFailedPrecondition", err)
	}
	if err := os.Chmod(named, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Load(dir, named)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, KeyFile)); err == nil {
		t.Error("a named key file still made secrets.key in the data dir")
	}
	if err := os.WriteFile(named, []byte("not hex\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dir, named); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("bad key = %v, want ErrInvalidArgument", err)
	}
	if got, err := s.Open("t", "s", s.Seal("t", "s", []byte("v"))); err != nil || string(got) != "v" {
		t.Errorf("named key round trip: %q, %v", got, err)
	}
}
