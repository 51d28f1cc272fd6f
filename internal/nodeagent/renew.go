package nodeagent

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"connectrpc.com/connect"

	nodev1 "github.com/soulbox/soulbox/api/node/v1"
	"github.com/soulbox/soulbox/internal/durable"
	"github.com/soulbox/soulbox/internal/nodeca"
)

// pendingKeyFile is the key of a renewal under way: made and kept before
// the control plane is asked, so that a renewal whose answer was lost
// is asked again for the same key (the control plane may have recorded
// it already), and the node's key until the renewed certificates are
// on disk.
const pendingKeyFile = "node-key.next.pem"

// clientCertificate is the node's client certificate, for each TLS
// handshake with the control plane.
func (id *identity) clientCertificate(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	id.mu.Lock()
	defer id.mu.Unlock()
	c := id.cert
	return &c, nil
}

// servingCertificate is the sandbox service's certificate, for each TLS
// handshake with the control plane.
func (id *identity) servingCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	id.mu.Lock()
	defer id.mu.Unlock()
	if id.serving == nil {
		return nil, errors.New("this node has no serving certificate")
	}
	c := *id.serving
	return &c, nil
}

// clientLeaf is the node's client certificate, parsed (nil: none).
func (id *identity) clientLeaf() (*x509.Certificate, error) {
	id.mu.Lock()
	c := id.cert
	id.mu.Unlock()
	if len(c.Certificate) == 0 {
		return nil, nil
	}
	if c.Leaf != nil {
		return c.Leaf, nil
	}
	leaf, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		return nil, fmt.Errorf("node certificate: %w", err)
	}
	return leaf, nil
}

// renewIfDue renews the node's certificates when less than a third of
// the client certificate's lifetime remains, or a renewal is under way
// (its pending key on disk): a new key, the control plane's Renew over
// mutual TLS, the certificates kept on disk and then used by the next
// handshakes of both the heartbeats and the sandbox service.
func (h *heartbeater) renewIfDue(ctx context.Context) error {
	dir := identityDir(h.dataDir)
	leaf, err := h.id.clientLeaf()
	if err != nil || leaf == nil {
		return err
	}
	if !renewPending(h.dataDir) && !nodeca.RenewDue(leaf.NotBefore, leaf.NotAfter, time.Now()) {
		return nil
	}
	csr, err := pendingCSR(dir, h.id.Name)
	if err != nil {
		return fmt.Errorf("renew: %w", err)
	}
	res, err := h.c.Renew(ctx, connect.NewRequest(&nodev1.RenewRequest{CsrPem: csr}))
	if err != nil {
		return fmt.Errorf("renew: %w", err)
	}
	cert, serving, err := saveRenewed(dir, res.Msg.GetCertificatePem(), res.Msg.GetServingCertificatePem())
	if err != nil {
		return fmt.Errorf("renew: keep the renewed certificates: %w", err)
	}
	h.id.mu.Lock()
	h.id.cert, h.id.serving = cert, &serving
	h.id.mu.Unlock()
	// The heartbeats' connection shook hands with the replaced
	// certificate, which the control plane no longer accepts.
	if h.closeIdle != nil {
		h.closeIdle()
	}
	h.log.Info("certificates renewed", "not_after", cert.Leaf.NotAfter.UTC().Format(time.RFC3339))
	return nil
}

// renewPending reports whether a renewal is under way: its pending key
// is on disk.
func renewPending(dataDir string) bool {
	_, err := os.Stat(filepath.Join(identityDir(dataDir), pendingKeyFile))
	return err == nil
}

// pendingCSR is a CSR naming the node for the pending key, made (0600,
// durable) unless a renewal under way left one.
func pendingCSR(dir, name string) ([]byte, error) {
	path := filepath.Join(dir, pendingKeyFile)
	var key *ecdsa.PrivateKey
	if b, err := os.ReadFile(path); err == nil {
		block, _ := pem.Decode(b)
		if block == nil {
			return nil, fmt.Errorf("%s holds no PEM key", path)
		}
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		ek, ok := k.(*ecdsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("%s is not an ECDSA key", path)
		}
		key = ek
	} else if errors.Is(err, os.ErrNotExist) {
		if key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			return nil, err
		}
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return nil, err
		}
		if err := durable.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
			return nil, err
		}
	} else {
		return nil, err
	}
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: name}}, key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csr}), nil
}

// saveRenewed keeps renewed certificates for the pending key: the
// serving certificate, then the client certificate, then the pending
// key becomes the node's key. A crash between the steps leaves files
// loadRenewable reads: each certificate with whichever key it is for.
func saveRenewed(dir string, certPEM, servingPEM []byte) (cert, serving tls.Certificate, err error) {
	keyPEM, err := os.ReadFile(filepath.Join(dir, pendingKeyFile))
	if err != nil {
		return cert, serving, err
	}
	if cert, err = tls.X509KeyPair(certPEM, keyPEM); err != nil {
		return cert, serving, fmt.Errorf("the renewed client certificate: %w", err)
	}
	if serving, err = tls.X509KeyPair(servingPEM, keyPEM); err != nil {
		return cert, serving, fmt.Errorf("the renewed serving certificate: %w", err)
	}
	if err := durable.WriteFile(filepath.Join(dir, servingFile), servingPEM, 0o644); err != nil {
		return cert, serving, err
	}
	if err := durable.WriteFile(filepath.Join(dir, certFile), certPEM, 0o644); err != nil {
		return cert, serving, err
	}
	if err := os.Rename(filepath.Join(dir, pendingKeyFile), filepath.Join(dir, keyFile)); err != nil {
		return cert, serving, err
	}
	return cert, serving, durable.SyncDir(dir)
}

// loadRenewable loads the certificate file name of dir with the node's
// key, or, when a renewal was interrupted after writing it, with the
// pending key; a client certificate for the pending key completes that
// renewal (the pending key becomes the node's key).
func loadRenewable(dir, name string) (tls.Certificate, error) {
	c, err := tls.LoadX509KeyPair(filepath.Join(dir, name), filepath.Join(dir, keyFile))
	if err == nil || errors.Is(err, os.ErrNotExist) {
		return c, err
	}
	pc, perr := tls.LoadX509KeyPair(filepath.Join(dir, name), filepath.Join(dir, pendingKeyFile))
	if perr != nil {
		return c, err
	}
	if name == certFile {
		if err := os.Rename(filepath.Join(dir, pendingKeyFile), filepath.Join(dir, keyFile)); err != nil {
			return pc, err
		}
		if err := durable.SyncDir(dir); err != nil {
			return pc, err
		}
	}
	return pc, nil
}
