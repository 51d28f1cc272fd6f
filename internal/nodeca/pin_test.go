package nodeca

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"net"
	"testing"
)

// TestNodeCannotPassForTheControlPlane: a node that joined as
// "localhost" holds a serving certificate for that name from the same
// authority nodes trust for the control plane. A node dialing its control
// plane (pinned at join, or by the authority afterwards) refuses it, and
// accepts the control plane's own certificate for the same name.
func TestNodeCannotPassForTheControlPlane(t *testing.T) {
	ca, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "localhost"}}, key)
	if err != nil {
		t.Fatal(err)
	}
	servingPEM, err := ca.SignServing("localhost", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csr}))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(servingPEM)
	nodeServer := &tls.Config{MinVersion: tls.VersionTLS13,
		Certificates: []tls.Certificate{{Certificate: [][]byte{block.Bytes, ca.cert.Raw}, PrivateKey: key}}}
	cpServer, err := ca.ServerTLS([]string{"localhost"})
	if err != nil {
		t.Fatal(err)
	}

	byAuthority := func() *tls.Config {
		return &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: ca.Pool(), ServerName: "localhost", VerifyConnection: RequireControlPlane}
	}
	for _, tc := range []struct {
		name   string
		server *tls.Config
		client func() *tls.Config
		ok     bool
	}{
		{"pinned, control plane", cpServer, func() *tls.Config { return PinnedTLS(ca.Fingerprint(), "localhost") }, true},
		{"pinned, a node's serving certificate", nodeServer, func() *tls.Config { return PinnedTLS(ca.Fingerprint(), "localhost") }, false},
		{"by the authority, control plane", cpServer, byAuthority, true},
		{"by the authority, a node's serving certificate", nodeServer, byAuthority, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := handshake(t, tc.server, tc.client())
			if tc.ok && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if !tc.ok && err == nil {
				t.Fatal("a node's serving certificate passed for the control plane")
			}
		})
	}
}

// handshake runs one TLS handshake over loopback and returns the
// client's error.
func handshake(t *testing.T, server, client *tls.Config) error {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_ = tls.Server(c, server).Handshake()
	}()
	c, err := tls.Dial("tcp", l.Addr().String(), client)
	if err != nil {
		return err
	}
	return c.Close()
}
