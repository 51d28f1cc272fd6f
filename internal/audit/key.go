package audit

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/soulbox/soulbox/internal/durable"
	"github.com/soulbox/soulbox/internal/errdefs"
)

// KeyFile is the file in the data dir that holds the key the audit
// chain's hashes are HMACs under. It is kept out of the database: whoever
// can change the database but cannot read this file cannot recompute a
// hash, so an edited, inserted or reordered entry is detected.
const KeyFile = "audit.key"

// minKeyLen is the shortest key accepted, in bytes.
const minKeyLen = 32

// LoadKey returns the key in <dataDir>/audit.key, made (random, 0600,
// durably) if missing (ReadKey otherwise).
func LoadKey(dataDir string) ([]byte, error) {
	path := filepath.Join(dataDir, KeyFile)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		key := make([]byte, minKeyLen)
		_, _ = rand.Read(key) // never fails since Go 1.24
		if err := durable.WriteFile(path, []byte(hex.EncodeToString(key)+"\n"), 0o600); err != nil {
			return nil, fmt.Errorf("write the audit key: %w", err)
		}
	}
	return ReadKey(dataDir)
}

// ReadKey returns the key in <dataDir>/audit.key. A key file that its
// group or others may read or write is refused: its secrecy is what the
// chain's worth rests on.
func ReadKey(dataDir string) ([]byte, error) {
	path := filepath.Join(dataDir, KeyFile)
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s is missing: the server makes it at its first start: %w", path, errdefs.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read the audit key: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s is readable or writable by others (mode %v): make it 0600 (chmod 600 %s): %w",
			path, fi.Mode().Perm(), path, errdefs.ErrFailedPrecondition)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read the audit key: %w", err)
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(key) < minKeyLen {
		return nil, fmt.Errorf("%s: want at least %d bytes in hex: %w", path, minKeyLen, errdefs.ErrInvalidArgument)
	}
	return key, nil
}
