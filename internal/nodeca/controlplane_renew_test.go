package nodeca

import (
	"crypto/tls"
	"crypto/x509"
	"testing"
	"time"
)

// TestControlPlaneCertificatesRenew: the control plane's client
// certificate is the same while most of its lifetime remains, and a new
// one (new key, still the control plane's identity, still signed by the
// authority) once less than a third remains.
func TestControlPlaneCertificatesRenew(t *testing.T) {
	ca, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ca.SetLifetime(6 * time.Second) // "right away" has 4 s on a loaded host
	get := ca.ControlPlaneCertificates()
	first, err := get(nil)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := get(nil); again.Leaf.SerialNumber.Cmp(first.Leaf.SerialNumber) != 0 {
		t.Fatalf("a second handshake right away got another certificate")
	}
	// Wait (no bound asserted) until a third of the lifetime is left.
	for !RenewDue(first.Leaf.NotBefore, first.Leaf.NotAfter, time.Now()) {
		time.Sleep(50 * time.Millisecond)
	}
	next, err := get(nil)
	if err != nil {
		t.Fatal(err)
	}
	if next.Leaf.SerialNumber.Cmp(first.Leaf.SerialNumber) == 0 || SPKIFingerprint(next.Leaf) == SPKIFingerprint(first.Leaf) {
		t.Fatalf("past two thirds of its lifetime the certificate was not renewed with a new key")
	}
	if !next.Leaf.NotAfter.After(first.Leaf.NotAfter) || !IsControlPlane(next.Leaf) {
		t.Errorf("renewed certificate: until %s (first until %s), control plane %v", next.Leaf.NotAfter, first.Leaf.NotAfter, IsControlPlane(next.Leaf))
	}
	if _, err := next.Leaf.Verify(x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("renewed certificate does not verify against the authority: %v", err)
	}
}

// TestListenerCertificateRenews: the node listener's certificate is the
// same at each handshake while most of its lifetime remains, and a new
// one for the same names, still the control plane's and pinned nodes'
// to trust, once less than a third remains.
func TestListenerCertificateRenews(t *testing.T) {
	ca, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ca.SetLifetime(6 * time.Second) // "right away" has 4 s on a loaded host
	tc, err := ca.ServerTLS([]string{"127.0.0.1", "cp.internal"})
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
	served := func() *x509.Certificate {
		t.Helper()
		c, err := tls.Dial("tcp", l.Addr().String(), PinnedTLS(ca.Fingerprint(), "127.0.0.1"))
		if err != nil {
			t.Fatalf("a pinned node's handshake: %v", err)
		}
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0]
	}
	first := served()
	if again := served(); again.SerialNumber.Cmp(first.SerialNumber) != 0 {
		t.Fatalf("a second handshake right away got another certificate")
	}
	for !RenewDue(first.NotBefore, first.NotAfter, time.Now()) {
		time.Sleep(50 * time.Millisecond)
	}
	next := served()
	if next.SerialNumber.Cmp(first.SerialNumber) == 0 || !next.NotAfter.After(first.NotAfter) {
		t.Fatalf("past two thirds of its lifetime the listener served the same certificate")
	}
	if !IsControlPlane(next) || len(next.DNSNames) != 1 || next.DNSNames[0] != "cp.internal" || len(next.IPAddresses) != 1 {
		t.Errorf("renewed listener certificate: control plane %v, names %v %v", IsControlPlane(next), next.DNSNames, next.IPAddresses)
	}
}
