package nodeca

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
)

// PinnedTLS is the TLS a joining node dials the control plane with,
// before it has the authority's certificate: it trusts a server whose
// chain includes a CA certificate of public key fingerprint fp (from the
// join token) and whose certificate that CA signed for serverName under
// the control plane's identity (IsControlPlane: a node's serving
// certificate from the same authority is refused). No system root is
// trusted.
func PinnedTLS(fp, serverName string) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS13,
		ServerName: serverName,
		// The chain is verified below against the pinned authority, not
		// the system's roots.
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return fmt.Errorf("the control plane sent no certificate")
			}
			for _, c := range cs.PeerCertificates[1:] {
				if !c.IsCA || SPKIFingerprint(c) != fp {
					continue
				}
				roots := x509.NewCertPool()
				roots.AddCert(c)
				_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{DNSName: serverName, Roots: roots})
				if err != nil {
					return fmt.Errorf("the control plane's certificate is not its pinned node CA's: %w", err)
				}
				return RequireControlPlane(cs)
			}
			return fmt.Errorf("the control plane's node CA does not match the join token's fingerprint %s", fp)
		},
	}
}

// RequireControlPlane is a VerifyConnection check for a node dialing its
// control plane: the verified peer certificate must carry the control
// plane's identity, not a node's.
func RequireControlPlane(cs tls.ConnectionState) error {
	if len(cs.PeerCertificates) == 0 || !IsControlPlane(cs.PeerCertificates[0]) {
		return fmt.Errorf("the server's certificate is not the control plane's (a node's certificate from the same authority?)")
	}
	return nil
}
