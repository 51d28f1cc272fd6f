// Package nodetoken makes and reads node join tokens:
// "sbn1.<id>.<secret>.<ca-fingerprint>". The id names the token in
// listings, the secret proves it (the store keeps only Hash of it), and
// the fingerprint is the control plane's node CA a joining node pins
// before it trusts the control plane.
package nodetoken

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"

	"github.com/soulbox/soulbox/internal/errdefs"
)

const prefix = "sbn1"

// Token is a parsed join token.
type Token struct {
	ID, Secret string
	// CAFingerprint is the hex SHA-256 of the node CA's public key.
	CAFingerprint string
}

// New makes a token for the CA of fingerprint fp.
func New(fp string) Token {
	return Token{ID: randHex(4), Secret: randHex(16), CAFingerprint: fp}
}

// String is the token as an admin hands it to a node.
func (t Token) String() string {
	return strings.Join([]string{prefix, t.ID, t.Secret, t.CAFingerprint}, ".")
}

// Hash is what the store keeps of the token: the hex SHA-256 of its id
// and secret.
func (t Token) Hash() string {
	sum := sha256.Sum256([]byte(t.ID + "." + t.Secret))
	return hex.EncodeToString(sum[:])
}

var (
	idRE     = regexp.MustCompile(`^[0-9a-f]{8}$`)
	secretRE = regexp.MustCompile(`^[0-9a-f]{32}$`)
	fpRE     = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// Parse reads a token (ErrInvalidArgument saying what is wrong).
func Parse(s string) (Token, error) {
	parts := strings.Split(strings.TrimSpace(s), ".")
	if len(parts) != 4 || parts[0] != prefix {
		return Token{}, fmt.Errorf("a join token looks like sbn1.<id>.<secret>.<ca-fingerprint> (from POST /admin/node-tokens): %w", errdefs.ErrInvalidArgument)
	}
	t := Token{ID: parts[1], Secret: parts[2], CAFingerprint: parts[3]}
	if !idRE.MatchString(t.ID) || !secretRE.MatchString(t.Secret) || !fpRE.MatchString(t.CAFingerprint) {
		return Token{}, fmt.Errorf("the join token is malformed: want 8, 32 and 64 lowercase hex digits: %w", errdefs.ErrInvalidArgument)
	}
	return t, nil
}

// SecretHash is the Hash of the token of id and secret, as a join sends
// them.
func SecretHash(id, secret string) string {
	return Token{ID: id, Secret: secret}.Hash()
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}
