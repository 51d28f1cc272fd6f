package nodeagent

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"strings"
	"testing"
	"time"
)

// TestExpiredCertificate: a node whose certificate expired stops with
// the way to join again instead of retrying a handshake the control
// plane refuses; a valid one heartbeats on.
func TestExpiredCertificate(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	notAfter := time.Now().Add(time.Hour)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "node-e"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: notAfter}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	id := &identity{Name: "node-e", cert: tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}}
	if err := id.usable(time.Now()); err != nil {
		t.Errorf("a valid certificate: %v", err)
	}
	err = id.usable(notAfter.Add(time.Second))
	if err == nil || !strings.Contains(err.Error(), "expired") || !strings.Contains(err.Error(), "DELETE /nodes/node-e") {
		t.Errorf("an expired certificate: %v", err)
	}
}
