package keyfile

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
)

// fingerprintLabel is the fixed message a key's fingerprint is the HMAC
// of: the fingerprint tells two keys apart without revealing either.
const fingerprintLabel = "soulbox key fingerprint v1"

// Fingerprint is the hex HMAC-SHA256 of a fixed label under key: equal
// for equal keys, and no help to whoever wants the key.
func Fingerprint(key []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(fingerprintLabel))
	return hex.EncodeToString(m.Sum(nil))
}
