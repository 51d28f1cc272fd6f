package audit

import (
	"path/filepath"

	"github.com/soulbox/soulbox/internal/keyfile"
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
	if err := keyfile.Make(filepath.Join(dataDir, KeyFile), "audit key", minKeyLen); err != nil {
		return nil, err
	}
	return ReadKey(dataDir)
}

// ReadKey returns the key in <dataDir>/audit.key. A key file that its
// group or others may read or write is refused: its secrecy is what the
// chain's worth rests on.
func ReadKey(dataDir string) ([]byte, error) {
	return keyfile.Read(filepath.Join(dataDir, KeyFile), "audit key", minKeyLen, false)
}
