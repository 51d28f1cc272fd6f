// Package secrets seals the values of teams' secrets (E2B's /secrets) so
// that the store never holds them in the clear: AES-256-GCM under a key
// kept outside the database, with the team and the secret's id bound as
// additional data, so a sealed value copied to another team's or another
// secret's row does not open.
package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"fmt"
	"path/filepath"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/keyfile"
)

// KeyFile is the file in the data dir that holds the key, unless the
// server is told another file.
const KeyFile = "secrets.key"

// keyLen is the key's length in bytes: AES-256.
const keyLen = 32

// Sealer seals and opens secret values under one key.
type Sealer struct {
	aead        cipher.AEAD
	fingerprint string
}

// New returns a sealer under key (32 bytes).
func New(key []byte) (*Sealer, error) {
	if len(key) != keyLen {
		return nil, fmt.Errorf("secrets key: want %d bytes, have %d: %w", keyLen, len(key), errdefs.ErrInvalidArgument)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("secrets key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secrets key: %w", err)
	}
	return &Sealer{aead: aead, fingerprint: keyfile.Fingerprint(key)}, nil
}

// Load returns a sealer under the key in path, or, if path is empty, in
// <dataDir>/secrets.key, which is made (random, 0600, durably) if
// missing. A file its group or others may read or write is refused, and
// so is a missing file the operator named: a new key would not open the
// values sealed under the old one.
func Load(dataDir, path string) (*Sealer, error) {
	if path == "" {
		path = filepath.Join(dataDir, KeyFile)
		if err := keyfile.Make(path, "secrets key", keyLen); err != nil {
			return nil, err
		}
	}
	key, err := keyfile.Read(path, "secrets key", keyLen, true)
	if err != nil {
		return nil, err
	}
	return New(key)
}

// Fingerprint tells the sealer's key from another's without revealing
// it (keyfile.Fingerprint).
func (s *Sealer) Fingerprint() string { return s.fingerprint }

// additional binds a sealed value to its team and secret. The lengths
// keep ("ab", "c") and ("a", "bc") apart.
func additional(team, id string) []byte {
	return fmt.Appendf(nil, "soulbox secret v1\x00%d:%s\x00%d:%s", len(team), team, len(id), id)
}

// Seal returns value sealed for secret id of team: a random nonce, then
// the ciphertext and its tag.
func (s *Sealer) Seal(team, id string, value []byte) []byte {
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(value)+s.aead.Overhead())
	_, _ = rand.Read(nonce) // never fails since Go 1.24
	return s.aead.Seal(nonce, nonce, value, additional(team, id))
}

// Open returns the value sealed for secret id of team. A value sealed
// under another key, for another team or secret, or changed, does not
// open.
func (s *Sealer) Open(team, id string, sealed []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n+s.aead.Overhead() {
		return nil, fmt.Errorf("secret %q: sealed value too short: %w", id, errdefs.ErrFailedPrecondition)
	}
	v, err := s.aead.Open(nil, sealed[:n], sealed[n:], additional(team, id))
	if err != nil {
		return nil, fmt.Errorf("secret %q does not open: sealed under another key, or for another team or secret: %w", id, errdefs.ErrFailedPrecondition)
	}
	return v, nil
}
