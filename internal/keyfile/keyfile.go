// Package keyfile keeps a server's secret keys in files of their own,
// outside the database, so that whoever can read or change the database
// cannot read them: hex, mode 0600, made at first start.
package keyfile

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/soulbox/soulbox/internal/durable"
	"github.com/soulbox/soulbox/internal/errdefs"
)

// Make writes a fresh random key of n bytes to path (hex, 0600,
// durably), unless path exists. what names the key in errors.
func Make(path, what string, n int) error {
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	key := make([]byte, n)
	_, _ = rand.Read(key) // never fails since Go 1.24
	if err := durable.WriteFile(path, []byte(hex.EncodeToString(key)+"\n"), 0o600); err != nil {
		return fmt.Errorf("write the %s: %w", what, err)
	}
	return nil
}

// Read returns the key in path: at least min bytes, and exactly min when
// exact is set. A file its group or others may read or write is refused:
// the key's secrecy is what it is worth. what names the key in errors.
func Read(path, what string, min int, exact bool) ([]byte, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("the %s %s is missing: %w", what, path, errdefs.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read the %s: %w", what, err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s is readable or writable by others (mode %v): make it 0600 (chmod 600 %s): %w",
			path, fi.Mode().Perm(), path, errdefs.ErrFailedPrecondition)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read the %s: %w", what, err)
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(b)))
	switch {
	case err != nil || len(key) < min:
		return nil, fmt.Errorf("%s: want at least %d bytes in hex (%d hex digits): %w", path, min, 2*min, errdefs.ErrInvalidArgument)
	case exact && len(key) != min:
		return nil, fmt.Errorf("%s: want %d bytes in hex (%d hex digits): %w", path, min, 2*min, errdefs.ErrInvalidArgument)
	}
	return key, nil
}
