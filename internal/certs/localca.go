package certs

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/soulbox/soulbox/internal/durable"
	"github.com/soulbox/soulbox/internal/errdefs"
)

// Files of the local authority in its directory.
const (
	caCertFile = "ca.pem"
	caKeyFile  = "ca.key"
)

// leafLifetime is how long a certificate the local authority signs is
// valid; it is signed again, in memory, when less than a day is left.
const leafLifetime = 30 * 24 * time.Hour

// maxLeaves bounds the certificates kept in memory: every sandbox host
// has its own, and a client can ask for any number of names. Past it the
// cache starts afresh; signing again costs well under a millisecond.
const maxLeaves = 4096

// localCA is a certificate authority kept on disk that signs one
// certificate per server name as clients ask for it. A certificate per
// name rather than one wildcard: clients refuse a wildcard one label under
// a top-level name (Node.js rejects *.localhost), and an IP address has no
// wildcard at all.
type localCA struct {
	cert  *x509.Certificate
	key   crypto.Signer
	leafK *ecdsa.PrivateKey // one key for every leaf: they live in memory only
	names Names

	mu     sync.Mutex
	leaves map[string]*tls.Certificate
}

// openLocalCA loads the authority in dir, creating it on first use. The
// key is written 0600 and never leaves dir; the certificate is readable by
// anyone, who needs it to trust the server.
func openLocalCA(dir string, names Names) (*localCA, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("tls: create %s: %w", dir, err)
	}
	certPath, keyPath := filepath.Join(dir, caCertFile), filepath.Join(dir, caKeyFile)
	ca := &localCA{names: names, leaves: map[string]*tls.Certificate{}}
	certPEM, cerr := os.ReadFile(certPath)
	keyPEM, kerr := os.ReadFile(keyPath)
	switch {
	case errors.Is(cerr, fs.ErrNotExist) && errors.Is(kerr, fs.ErrNotExist):
		if err := ca.create(certPath, keyPath); err != nil {
			return nil, err
		}
	case cerr != nil || kerr != nil:
		return nil, fmt.Errorf("tls: local authority in %s: %w", dir, errors.Join(cerr, kerr))
	default:
		pair, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return nil, fmt.Errorf("tls: local authority %s with key %s: %v: %w", certPath, keyPath, err, errdefs.ErrFailedPrecondition)
		}
		if ca.cert, err = x509.ParseCertificate(pair.Certificate[0]); err != nil {
			return nil, fmt.Errorf("tls: local authority %s: %w", certPath, err)
		}
		signer, ok := pair.PrivateKey.(crypto.Signer)
		if !ok || !ca.cert.IsCA {
			return nil, fmt.Errorf("tls: %s is not a certificate authority: %w", certPath, errdefs.ErrFailedPrecondition)
		}
		ca.key = signer
		if p := ca.cert.PermittedDNSDomains; len(p) > 0 && !slices.Contains(p, ca.names.domain()) {
			return nil, fmt.Errorf("tls: the local authority %s is for %v, not %s: move %s aside to make one for the new domain (clients must then trust it again): %w",
				certPath, p, ca.names.domain(), dir, errdefs.ErrFailedPrecondition)
		}
	}
	var err error
	if ca.leafK, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		return nil, fmt.Errorf("tls: generate key: %w", err)
	}
	return ca, nil
}

func (ca *localCA) create(certPath, keyPath string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("tls: generate key: %w", err)
	}
	host, _ := os.Hostname()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{Organization: []string{"SoulBox"}, CommonName: "SoulBox local CA " + host},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
		// Clients that trust this authority trust it for the server's
		// names only: its key cannot vouch for anyone else's domain.
		PermittedDNSDomainsCritical: true,
		PermittedDNSDomains:         permittedDomains(ca.names.domain()),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return fmt.Errorf("tls: create local authority: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("tls: encode key: %w", err)
	}
	// The key first: a certificate on disk without its key would be a
	// half-made authority the next start refuses.
	if err := durable.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return fmt.Errorf("tls: %w", err)
	}
	if err := durable.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return fmt.Errorf("tls: %w", err)
	}
	ca.key = key
	ca.cert, err = x509.ParseCertificate(der)
	return err
}

// permittedDomains are the name constraints of an authority for domain:
// the domain and the names under it, and localhost.
func permittedDomains(domain string) []string {
	if domain == "localhost" {
		return []string{"localhost"}
	}
	return []string{domain, "localhost"}
}

// getCertificate signs (or reuses) a certificate for the name the client
// asked for, or, when it sent none (it dialled an address), for the local
// address it reached.
func (ca *localCA) getCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	name := hello.ServerName
	if name == "" || net.ParseIP(name) != nil {
		// No name (the client dialled an address), or an address sent as
		// one, against RFC 6066: the address the client reached.
		name = ""
		if a, ok := hello.Conn.LocalAddr().(*net.TCPAddr); ok {
			name = a.IP.String()
		}
	} else if name != "localhost" {
		if _, err := ca.names.check(hello.Context(), name, false); err != nil {
			return nil, err
		}
	}
	if name == "" {
		return nil, fmt.Errorf("tls: no server name and no local address: %w", errdefs.ErrInvalidArgument)
	}
	ca.mu.Lock()
	defer ca.mu.Unlock()
	if c, ok := ca.leaves[name]; ok && time.Until(c.Leaf.NotAfter) > 24*time.Hour {
		return c, nil
	}
	c, err := ca.sign(name)
	if err != nil {
		return nil, err
	}
	if len(ca.leaves) >= maxLeaves {
		clear(ca.leaves)
	}
	ca.leaves[name] = c
	return c, nil
}

func (ca *localCA) sign(name string) (*tls.Certificate, error) {
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{Organization: []string{"SoulBox"}, CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(leafLifetime),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if ip := net.ParseIP(name); ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	} else {
		tmpl.DNSNames = []string{name}
	}
	if tmpl.NotAfter.After(ca.cert.NotAfter) {
		tmpl.NotAfter = ca.cert.NotAfter
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &ca.leafK.PublicKey, ca.key)
	if err != nil {
		return nil, fmt.Errorf("tls: sign a certificate for %s: %w", name, err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &tls.Certificate{Certificate: [][]byte{der, ca.cert.Raw}, PrivateKey: ca.leafK, Leaf: leaf}, nil
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return n
}
