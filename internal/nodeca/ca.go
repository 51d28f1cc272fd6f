// Package nodeca is the control plane's node certificate authority: a
// CA kept in the data dir (key 0600, generated on first start) that signs
// the client certificate of each node that joins, and the certificate of
// the node listener the nodes dial. Nodes pin it by Fingerprint, which
// every join token carries (as kubeadm's discovery hash).
package nodeca

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/soulbox/soulbox/internal/durable"
	"github.com/soulbox/soulbox/internal/errdefs"
)

// Files of the authority in its directory.
const (
	CertFile = "ca.pem"
	KeyFile  = "ca-key.pem"
)

// ClientCertLifetime is how long a node's client certificate is valid.
const ClientCertLifetime = 365 * 24 * time.Hour

// CA is the node certificate authority.
type CA struct {
	cert *x509.Certificate
	key  crypto.Signer
	pem  []byte
	// lifetime of the certificates signed for nodes and the control
	// plane's client (0: ClientCertLifetime); see SetLifetime.
	lifetime atomic.Int64
}

// Open loads the authority in dir, creating it on first use.
func Open(dir string) (*CA, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("node ca: %w", err)
	}
	certPath, keyPath := filepath.Join(dir, CertFile), filepath.Join(dir, KeyFile)
	if _, err := os.Stat(keyPath); errors.Is(err, os.ErrNotExist) {
		if err := create(certPath, keyPath); err != nil {
			return nil, err
		}
	}
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		return nil, fmt.Errorf("node ca: %w", err)
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, fmt.Errorf("node ca: %w", err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("node ca in %s: %w", dir, err)
	}
	cert, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return nil, fmt.Errorf("node ca in %s: %w", dir, err)
	}
	signer, ok := pair.PrivateKey.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("node ca in %s: the key cannot sign", dir)
	}
	return &CA{cert: cert, key: signer, pem: certPEM}, nil
}

func create(certPath, keyPath string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("node ca: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial(), Subject: pkix.Name{CommonName: "SoulBox node CA", Organization: []string{"SoulBox"}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(10 * 365 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, MaxPathLenZero: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return fmt.Errorf("node ca: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("node ca: %w", err)
	}
	// The certificate first: a key without a certificate is made again,
	// a certificate without its key is overwritten by the next create.
	if err := durable.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return fmt.Errorf("node ca: %w", err)
	}
	if err := durable.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return fmt.Errorf("node ca: %w", err)
	}
	return nil
}

// Fingerprint is what join tokens carry to pin the authority: the hex
// SHA-256 of its certificate's public key (SubjectPublicKeyInfo), as
// kubeadm's discovery token CA cert hash.
func (ca *CA) Fingerprint() string { return SPKIFingerprint(ca.cert) }

// SPKIFingerprint is the hex SHA-256 of c's SubjectPublicKeyInfo.
func SPKIFingerprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.RawSubjectPublicKeyInfo)
	return hex.EncodeToString(sum[:])
}

// CertFingerprint is the hex SHA-256 of a certificate (DER): how the
// registry remembers the certificate it signed for a node.
func CertFingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

// CertPEM is the authority's certificate, PEM.
func (ca *CA) CertPEM() []byte { return ca.pem }

// Pool is a pool of the authority's certificate alone.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.cert)
	return p
}

// SignNode checks csrPEM (well formed, self-signed, naming node as its
// common name and nothing else) and signs a client certificate for it.
// It returns the certificate, PEM, and its fingerprint. A bad CSR is
// ErrInvalidArgument, one for another name ErrPermissionDenied.
func (ca *CA) SignNode(node string, csrPEM []byte) ([]byte, string, error) {
	csr, err := nodeCSR(node, csrPEM)
	if err != nil {
		return nil, "", err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial(), Subject: pkix.Name{CommonName: node, Organization: []string{"SoulBox nodes"}},
		NotBefore: now.Add(-ca.backdate()), NotAfter: now.Add(ca.Lifetime()),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, csr.PublicKey, ca.key)
	if err != nil {
		return nil, "", fmt.Errorf("sign node %q: %w", node, err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), CertFingerprint(der), nil
}

// SignServing signs the serving certificate of node's sandbox service
// for the key of csrPEM (checked as SignNode checks it): its one DNS
// name is the node's name, which the control plane verifies when it
// dials the node, whatever address it dials.
func (ca *CA) SignServing(node string, csrPEM []byte) ([]byte, error) {
	csr, err := nodeCSR(node, csrPEM)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial(), Subject: pkix.Name{CommonName: node, Organization: []string{"SoulBox nodes"}},
		NotBefore: now.Add(-ca.backdate()), NotAfter: now.Add(ca.Lifetime()),
		DNSNames: []string{node},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, csr.PublicKey, ca.key)
	if err != nil {
		return nil, fmt.Errorf("sign node %q serving certificate: %w", node, err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}

// ControlPlaneName is the common name of the control plane's client
// certificate: not a valid node name (nodes are lowercase DNS labels),
// so no node's certificate can pass for it.
const ControlPlaneName = "SoulBox control plane"

// controlPlaneOrg is its organization.
const controlPlaneOrg = "SoulBox control planes"

// ControlPlaneClient is a client certificate for the control plane,
// signed now with a fresh key, that nodes' sandbox services accept
// (see IsControlPlane). It is kept in memory only.
func (ca *CA) ControlPlaneClient() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial(), Subject: pkix.Name{CommonName: ControlPlaneName, Organization: []string{controlPlaneOrg}},
		NotBefore: now.Add(-ca.backdate()), NotAfter: now.Add(ca.Lifetime()),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("control plane client certificate: %w", err)
	}
	leaf, _ := x509.ParseCertificate(der)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

// IsControlPlane reports whether a verified certificate is the control
// plane's rather than a node's: its client certificate, or the node
// listener's serving one. Nodes' certificates name the node (a lowercase
// DNS label) in the nodes' organization, so a node's serving
// certificate, though signed by the same authority for a host name the
// node chose, never passes for the control plane's.
func IsControlPlane(c *x509.Certificate) bool {
	return c != nil && c.Subject.CommonName == ControlPlaneName && len(c.Subject.Organization) == 1 && c.Subject.Organization[0] == controlPlaneOrg
}

// nodeCSR parses and checks a node's CSR: well formed, self-signed,
// naming node and nothing else.
func nodeCSR(node string, csrPEM []byte) (*x509.CertificateRequest, error) {
	block, _ := pem.Decode(csrPEM)
	if block == nil || block.Type != "CERTIFICATE REQUEST" {
		return nil, fmt.Errorf("the CSR is not a PEM CERTIFICATE REQUEST: %w", errdefs.ErrInvalidArgument)
	}
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("the CSR does not parse: %v: %w", err, errdefs.ErrInvalidArgument)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("the CSR's signature does not verify: %v: %w", err, errdefs.ErrInvalidArgument)
	}
	if csr.Subject.CommonName != node {
		return nil, fmt.Errorf("the CSR names %q, not the joining node %q: %w", csr.Subject.CommonName, node, errdefs.ErrPermissionDenied)
	}
	if len(csr.DNSNames)+len(csr.IPAddresses)+len(csr.EmailAddresses)+len(csr.URIs) > 0 {
		return nil, fmt.Errorf("the CSR asks for other names than the node's: %w", errdefs.ErrPermissionDenied)
	}
	return csr, nil
}

// ServerTLS is the node listener's TLS: a certificate the authority
// signs for names (host names and addresses) under the control plane's
// identity (IsControlPlane, which nodes require), sent with the authority's
// certificate so a joining node can pin it, and the nodes' client
// certificates verified when given (a join has none yet; every other
// call checks that one was). The certificate lives as the nodes' do
// (Lifetime) and is signed again, with a fresh key, at the first
// handshake once less than a third of its lifetime remains, so a
// control plane that runs longer than that keeps its nodes.
func (ca *CA) ServerTLS(names []string) (*tls.Config, error) {
	var mu sync.Mutex
	cur, err := ca.listenerCert(names)
	if err != nil {
		return nil, err
	}
	get := func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
		mu.Lock()
		defer mu.Unlock()
		now := time.Now()
		if RenewDue(cur.Leaf.NotBefore, cur.Leaf.NotAfter, now) {
			next, err := ca.listenerCert(names)
			switch {
			case err == nil:
				cur = next
			case now.After(cur.Leaf.NotAfter):
				return nil, err
			}
		}
		c := cur
		return &c, nil
	}
	return &tls.Config{
		MinVersion:     tls.VersionTLS13,
		GetCertificate: get,
		ClientAuth:     tls.VerifyClientCertIfGiven,
		ClientCAs:      ca.Pool(),
		NextProtos:     []string{"h2", "http/1.1"},
	}, nil
}

// listenerCert signs the node listener's certificate for names, with a
// fresh key.
func (ca *CA) listenerCert(names []string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial(), Subject: pkix.Name{CommonName: ControlPlaneName, Organization: []string{controlPlaneOrg}},
		NotBefore: now.Add(-ca.backdate()), NotAfter: now.Add(ca.Lifetime()),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if n != "" {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("node listener certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("node listener certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der, ca.cert.Raw}, PrivateKey: key, Leaf: leaf}, nil
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	return n
}
