package keyfile

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// TestMakeAndRead: a key is made once, 0600, and read back; a key file
// others may read, a missing one, one not in hex and one of the wrong
// length are refused with what to fix.
func TestMakeAndRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.key")
	if err := Make(path, "test key", 32); err != nil {
		t.Fatal(err)
	}
	first, err := Read(path, "test key", 32, true)
	if err != nil || len(first) != 32 {
		t.Fatalf("read %d bytes, %v", len(first), err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", fi.Mode().Perm())
	}
	if err := Make(path, "test key", 32); err != nil {
		t.Fatal(err)
	}
	if again, _ := Read(path, "test key", 32, true); string(again) != string(first) {
		t.Error("a second Make replaced the key")
	}

	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(path, "test key", 32, true); !errdefs.IsFailedPrecondition(err) {
		t.Errorf("a group-readable key: %v", err)
	}
	if _, err := Read(filepath.Join(t.TempDir(), "none"), "test key", 32, true); !errdefs.IsNotFound(err) {
		t.Errorf("a missing key: %v", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, body := range []string{"not hex\n", "abcd\n", "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff00\n"} {
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := Read(path, "test key", 32, true); !errdefs.IsInvalidArgument(err) {
			t.Errorf("key %q: %v", body, err)
		}
	}
	// Longer is fine when the length is a minimum.
	if _, err := Read(path, "test key", 32, false); err != nil {
		t.Errorf("a 33-byte key with a 32-byte minimum: %v", err)
	}
}
