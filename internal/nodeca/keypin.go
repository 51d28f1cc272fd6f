package nodeca

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// CSRKeyFingerprint is the hex SHA-256 of the public key of node's
// csrPEM (checked as SignNode checks it; its SubjectPublicKeyInfo, as
// SPKIFingerprint of a certificate for that key): what the control
// plane records at a node's join and pins the node's serving
// certificate to.
func CSRKeyFingerprint(node string, csrPEM []byte) (string, error) {
	csr, err := nodeCSR(node, csrPEM)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(csr.RawSubjectPublicKeyInfo)
	return hex.EncodeToString(sum[:]), nil
}

// RequireKey is a VerifyConnection check that the peer's certificate
// (already verified against the authority) is for the public key of
// fingerprint fp, so that a certificate the authority signed for the
// same name at an earlier join, with another key, is refused.
func RequireKey(node, fp string) func(tls.ConnectionState) error {
	return func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return fmt.Errorf("node %s sent no certificate", node)
		}
		if got := SPKIFingerprint(cs.PeerCertificates[0]); got != fp {
			return fmt.Errorf("node %s's serving certificate is for key %.16s…, not the key %.16s… it joined with "+
				"(a certificate from an earlier join of that name, or another host): %w", node, got, fp, errdefs.ErrPermissionDenied)
		}
		return nil
	}
}
