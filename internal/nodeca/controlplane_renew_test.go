package nodeca

import (
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
	ca.SetLifetime(3 * time.Second)
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
