// Package auth issues and checks the control plane's API keys. A key is
// "e2b_" and 40 hex digits, the shape E2B's SDKs accept; the store keeps
// only its SHA-256. Keys are 160 random bits, so a fast hash is enough: no
// dictionary to slow down, and checking a key costs one hash per request.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"regexp"
)

var keyFormat = regexp.MustCompile(`^e2b_[0-9a-f]{40}$`)

// Generate returns a new key with its hash and the prefix shown in lists.
func Generate() (key, hash, prefix string) {
	b := make([]byte, 20)
	_, _ = rand.Read(b) // crypto/rand never fails on Linux
	key = "e2b_" + hex.EncodeToString(b)
	return key, Hash(key), Prefix(key)
}

// Hash is the stored form of a key.
func Hash(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// Prefix is the part of a key shown in listings.
func Prefix(key string) string {
	if len(key) < 10 {
		return key
	}
	return key[:10]
}

// ValidFormat reports whether key has the shape this server issues.
func ValidFormat(key string) bool { return keyFormat.MatchString(key) }

// newID returns an id for a key record.
func newID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "key_" + hex.EncodeToString(b)
}
