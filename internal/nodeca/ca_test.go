package nodeca

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// TestOpen: the authority is made once with a 0600 key and the same
// fingerprint on every later open.
func TestOpen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "node-ca")
	ca, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, KeyFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file %v, %v", fi, err)
	}
	again, err := Open(dir)
	if err != nil || again.Fingerprint() != ca.Fingerprint() || len(ca.Fingerprint()) != 64 {
		t.Errorf("reopened: %v, %s vs %s", err, again.Fingerprint(), ca.Fingerprint())
	}
	if err := os.WriteFile(filepath.Join(dir, KeyFile), []byte("junk"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir); err == nil {
		t.Errorf("a broken key opened")
	}
}

func csrPEM(t *testing.T, cn string) []byte {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn}}, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

// TestSignNode: the certificate names the node, is for client auth only
// and chains to the authority; a CSR for another name is refused.
func TestSignNode(t *testing.T) {
	ca, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	certPEM, fp, err := ca.SignNode("node-a", csrPEM(t, "node-a"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode(certPEM)
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if c.Subject.CommonName != "node-a" || fp != CertFingerprint(c.Raw) || len(c.ExtKeyUsage) != 1 || c.ExtKeyUsage[0] != x509.ExtKeyUsageClientAuth {
		t.Errorf("certificate %+v", c.Subject)
	}
	if _, err := c.Verify(x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("verify: %v", err)
	}
	if _, _, err := ca.SignNode("node-a", csrPEM(t, "node-b")); !errors.Is(err, errdefs.ErrPermissionDenied) {
		t.Errorf("CSR for another name: %v", err)
	}
}

// TestPinnedTLS: a node dialing with the token's fingerprint completes
// the handshake with the listener the authority signed, and refuses one
// signed by another authority, or for another name.
func TestPinnedTLS(t *testing.T) {
	ca, _ := Open(t.TempDir())
	other, _ := Open(t.TempDir())
	tc, err := ca.ServerTLS([]string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	l, err := tls.Listen("tcp", "127.0.0.1:0", tc)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			_ = c.(*tls.Conn).Handshake()
			c.Close()
		}
	}()
	dial := func(fp, name string) error {
		c, err := tls.Dial("tcp", l.Addr().String(), PinnedTLS(fp, name))
		if err == nil {
			c.Close()
		}
		return err
	}
	if err := dial(ca.Fingerprint(), "127.0.0.1"); err != nil {
		t.Errorf("pinned dial: %v", err)
	}
	if err := dial(other.Fingerprint(), "127.0.0.1"); err == nil || !strings.Contains(err.Error(), "fingerprint") {
		t.Errorf("another CA's pin: %v", err)
	}
	if err := dial(ca.Fingerprint(), "cp.example"); err == nil {
		t.Errorf("a name the certificate is not for was accepted")
	}
}
