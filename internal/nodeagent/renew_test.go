package nodeagent

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"

	"github.com/soulbox/soulbox/internal/nodeca"
)

// TestInterruptedRenewalLoads: a node that crashed in the middle of
// keeping renewed certificates starts with a usable identity: its
// client certificate with whichever key it is for (the renewal
// completes when it is the pending key's) and its serving certificate
// likewise; a renewal that got no answer leaves the old identity and
// its pending key for the retry.
func TestInterruptedRenewalLoads(t *testing.T) {
	ca, err := nodeca.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	const name = "node-c"
	sign := func(csr []byte) (client, serving []byte) {
		t.Helper()
		c, _, err := ca.SignNode(name, csr)
		if err != nil {
			t.Fatal(err)
		}
		s, err := ca.SignServing(name, csr)
		if err != nil {
			t.Fatal(err)
		}
		return c, s
	}
	keyOf := func(certPEM []byte) string {
		b, _ := pem.Decode(certPEM)
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		return nodeca.SPKIFingerprint(c)
	}
	// setup joins a node in a fresh data dir and starts a renewal: the
	// pending key made, its certificates signed but not kept.
	setup := func(t *testing.T) (dataDir string, c1, s1, c2, s2 []byte) {
		dataDir = t.TempDir()
		csr1, err := newKey(dataDir, name)
		if err != nil {
			t.Fatal(err)
		}
		c1, s1 = sign(csr1)
		if err := saveIdentity(dataDir, name, "https://127.0.0.1:1", c1, s1, ca.CertPEM()); err != nil {
			t.Fatal(err)
		}
		csr2, err := pendingCSR(identityDir(dataDir), name)
		if err != nil {
			t.Fatal(err)
		}
		c2, s2 = sign(csr2)
		return dataDir, c1, s1, c2, s2
	}
	loaded := func(t *testing.T, dataDir string) (client, serving string) {
		t.Helper()
		id, err := loadIdentity(dataDir)
		if err != nil {
			t.Fatalf("load after the interruption: %v", err)
		}
		return nodeca.SPKIFingerprint(id.cert.Leaf), nodeca.SPKIFingerprint(id.serving.Leaf)
	}
	pending := func(dataDir string) bool {
		_, err := os.Stat(filepath.Join(identityDir(dataDir), pendingKeyFile))
		return err == nil
	}

	t.Run("no answer", func(t *testing.T) {
		dataDir, c1, s1, c2, _ := setup(t)
		if c, s := loaded(t, dataDir); c != keyOf(c1) || s != keyOf(s1) || !pending(dataDir) {
			t.Errorf("loaded keys %s, %s (pending %v); want the joined ones and the pending key kept", c, s, pending(dataDir))
		}
		// The retry asks for the same pending key.
		csr, err := pendingCSR(identityDir(dataDir), name)
		if err != nil {
			t.Fatal(err)
		}
		if again, _ := sign(csr); keyOf(again) != keyOf(c2) {
			t.Errorf("the retry's CSR is for key %s; want the pending key %s", keyOf(again), keyOf(c2))
		}
	})
	t.Run("serving kept, client not", func(t *testing.T) {
		dataDir, c1, _, _, s2 := setup(t)
		if err := os.WriteFile(filepath.Join(identityDir(dataDir), servingFile), s2, 0o644); err != nil {
			t.Fatal(err)
		}
		if c, s := loaded(t, dataDir); c != keyOf(c1) || s != keyOf(s2) || !pending(dataDir) {
			t.Errorf("loaded keys %s, %s (pending %v); want the joined client, the renewed serving and the pending key kept", c, s, pending(dataDir))
		}
	})
	t.Run("both kept, key not renamed", func(t *testing.T) {
		dataDir, _, _, c2, s2 := setup(t)
		dir := identityDir(dataDir)
		if err := os.WriteFile(filepath.Join(dir, servingFile), s2, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, certFile), c2, 0o644); err != nil {
			t.Fatal(err)
		}
		if c, s := loaded(t, dataDir); c != keyOf(c2) || s != keyOf(s2) || pending(dataDir) {
			t.Errorf("loaded keys %s, %s (pending %v); want the renewed ones and the renewal completed", c, s, pending(dataDir))
		}
		if c, s := loaded(t, dataDir); c != keyOf(c2) || s != keyOf(s2) {
			t.Errorf("a second load: %s, %s", c, s)
		}
	})
}
