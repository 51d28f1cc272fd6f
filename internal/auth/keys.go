// Package auth issues and checks the control plane's API keys.
//
// A key is "e2b_" and 40 lowercase hex digits (20 random bytes), the shape
// E2B's SDKs accept before sending it. The store keeps only the key's
// SHA-256. A fast hash is the right one here: a password hash (bcrypt,
// argon2) is slow to make guessing low-entropy secrets expensive, but a key
// is 160 random bits that no dictionary holds, and the hash is computed on
// every request. Looking a key up by its hash also means no secret is ever
// compared byte by byte, so there is no timing to leak.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
)

// keyFormat is the shape of the keys this server issues. The SDKs accept
// any number of hex digits after e2b_; a key of another length cannot be
// one of ours.
var keyFormat = regexp.MustCompile(`^e2b_[0-9a-f]{40}$`)

// Generate returns a new key with its hash and the prefix shown in lists.
//
// It has no error result: since Go 1.24 crypto/rand.Read never returns one
// (it crashes the program if the kernel cannot give randomness, rather
// than let anyone use a key that is not random).
func Generate() (key, hash, prefix string) {
	b := make([]byte, 20)
	_, _ = rand.Read(b)
	key = "e2b_" + hex.EncodeToString(b)
	return key, Hash(key), Prefix(key)
}

// Hash is the stored form of a key: its hex SHA-256.
func Hash(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// Prefix is the part of a key shown in listings, e.g. e2b_1a2b3c: enough to
// tell keys apart, far too little to guess the rest.
func Prefix(key string) string {
	if len(key) < 10 {
		return key
	}
	return key[:10]
}

// ValidFormat reports whether key has the shape this server issues.
func ValidFormat(key string) bool { return keyFormat.MatchString(key) }

// Create issues a new key for team and returns it; only its hash is kept.
// The key is an owner of its team when admin is set, else a developer.
func Create(ctx context.Context, st store.APIKeys, name, team string, admin bool) (string, store.APIKey, error) {
	role := store.RoleDeveloper
	if admin {
		role = store.RoleOwner
	}
	return Issue(ctx, st, store.APIKey{Name: name, Team: team, Admin: admin, Role: role})
}

// MaxKeyNameLen bounds the name of a key.
const MaxKeyNameLen = 128

// Issue issues a new key with spec's name, team, role and scopes and
// returns it; only its hash is kept. An empty role is a developer.
func Issue(ctx context.Context, st store.APIKeys, spec store.APIKey) (string, store.APIKey, error) {
	if spec.Name == "" || spec.Team == "" {
		return "", store.APIKey{}, fmt.Errorf("a key needs a name and a team: %w", errdefs.ErrInvalidArgument)
	}
	if len(spec.Name) > MaxKeyNameLen {
		return "", store.APIKey{}, fmt.Errorf("key name: at most %d bytes: %w", MaxKeyNameLen, errdefs.ErrInvalidArgument)
	}
	if spec.Role == "" {
		spec.Role = store.RoleDeveloper
	}
	key, hash, prefix := Generate()
	k := store.APIKey{ID: newID(), Name: spec.Name, Prefix: prefix, Hash: hash, Team: spec.Team, Admin: spec.Admin,
		Role: spec.Role, Scopes: spec.Scopes}
	if err := st.CreateAPIKey(ctx, k); err != nil {
		return "", k, err
	}
	return key, k, nil
}

// newID returns an id for a key record. It is not secret: it names the key
// in listings and in `soulbox keys revoke`.
func newID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b) // never fails, see Generate
	return "key_" + hex.EncodeToString(b)
}
