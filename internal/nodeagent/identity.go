// Package nodeagent is the node side of `soulbox node`: it joins a
// control plane once with a join token (a key and CSR made here, the
// control plane pinned by the token's CA fingerprint), keeps the signed
// certificate in its data dir, and from then on heartbeats over mutual
// TLS with the host's capacity and use; when its context ends it reports
// itself draining and returns.
//
// With a listen address the node also hosts a runtime driver of its own
// and serves it to the control plane (internal/nodeservice) over mutual
// TLS with the serving certificate signed at its join.
package nodeagent

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/soulbox/soulbox/internal/durable"
)

// Files of a node's identity in <data-dir>/node.
const (
	keyFile   = "node-key.pem"
	certFile  = "node.pem"
	caFile    = "ca.pem"
	stateFile = "node.json"
	// servingFile is the sandbox service's certificate (same key).
	servingFile = "node-serving.pem"
)

// identity is what a joined node keeps: its name, the control plane it
// joined and the credentials of its mutual TLS.
type identity struct {
	Name         string `json:"name"`
	ControlPlane string `json:"controlPlane"`
	ca           *x509.CertPool

	// mu guards the certificates, which a renewal replaces.
	mu   sync.Mutex
	cert tls.Certificate
	// serving is the sandbox service's certificate; nil for a node that
	// joined before the control plane signed one (it must join again).
	serving *tls.Certificate
}

func identityDir(dataDir string) string { return filepath.Join(dataDir, "node") }

// loadIdentity reads a joined node's identity; os.ErrNotExist if it has
// not joined.
func loadIdentity(dataDir string) (*identity, error) {
	dir := identityDir(dataDir)
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil {
		return nil, err
	}
	var id identity
	if err := json.Unmarshal(b, &id); err != nil {
		return nil, fmt.Errorf("node identity %s: %w", filepath.Join(dir, stateFile), err)
	}
	if id.cert, err = loadRenewable(dir, certFile); err != nil {
		return nil, fmt.Errorf("node identity: %w", err)
	}
	if sc, err := loadRenewable(dir, servingFile); err == nil {
		id.serving = &sc
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("node identity: %w", err)
	}
	caPEM, err := os.ReadFile(filepath.Join(dir, caFile))
	if err != nil {
		return nil, fmt.Errorf("node identity: %w", err)
	}
	id.ca = x509.NewCertPool()
	if !id.ca.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("node identity: %s holds no certificate", filepath.Join(dir, caFile))
	}
	return &id, nil
}

// newKey makes the node's key and a CSR naming it, and keeps the key
// (0600) for the certificate to come.
func newKey(dataDir, name string) ([]byte, error) {
	dir := identityDir(dataDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	if err := durable.WriteFile(filepath.Join(dir, keyFile), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return nil, err
	}
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: name}}, key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csr}), nil
}

// saveIdentity keeps what a join returned; the state file last, so a
// node that crashed half-way has not joined (and needs a new token).
func saveIdentity(dataDir, name, controlPlane string, certPEM, servingPEM, caPEM []byte) error {
	dir := identityDir(dataDir)
	if len(servingPEM) > 0 {
		if err := durable.WriteFile(filepath.Join(dir, servingFile), servingPEM, 0o644); err != nil {
			return err
		}
	}
	if err := durable.WriteFile(filepath.Join(dir, certFile), certPEM, 0o644); err != nil {
		return err
	}
	if err := durable.WriteFile(filepath.Join(dir, caFile), caPEM, 0o644); err != nil {
		return err
	}
	b, _ := json.Marshal(identity{Name: name, ControlPlane: controlPlane})
	return durable.WriteFile(filepath.Join(dir, stateFile), b, 0o600)
}

// joined reports whether dataDir holds a joined node's identity.
// Joined reports whether the node of dataDir has joined a control plane:
// its later starts need no join token.
func Joined(dataDir string) bool { return joined(dataDir) }

func joined(dataDir string) bool {
	_, err := os.Stat(filepath.Join(identityDir(dataDir), stateFile))
	return !errors.Is(err, os.ErrNotExist)
}
