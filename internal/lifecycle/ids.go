package lifecycle

import (
	"crypto/rand"
	"encoding/hex"
)

// alphabet of sandbox ids: lowercase letters and digits, so that an id is
// a valid DNS label in <port>-<id>.<domain>.
const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// newID returns a random sandbox id like E2B's: "i" and 19 characters
// (about 98 bits of randomness).
func newID() string {
	b := make([]byte, 19)
	_, _ = rand.Read(b)
	out := []byte{'i'}
	for _, c := range b {
		out = append(out, alphabet[int(c)%len(alphabet)])
	}
	return string(out)
}

// newToken returns a secret for a sandbox's agent.
func newToken() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
