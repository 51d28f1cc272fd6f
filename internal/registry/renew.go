package registry

import (
	"context"
	"crypto/x509"
	"fmt"

	"connectrpc.com/connect"

	nodev1 "github.com/soulbox/soulbox/api/node/v1"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/nodeca"
)

// Renew implements the node service: a joined node, over mutual TLS
// with its client certificate, gets new client and serving
// certificates for its name and the key of a new CSR; the store records
// their fingerprint and the new key (the one its sandbox service is then
// accepted under) in one compare-and-set on the certificate it replaces,
// so of two renewals racing one wins. A node whose answer was lost
// still holds its previous certificate: its retry is accepted when it
// comes with the certificate that renewal was asked with (recorded as
// the previous one; a retry keeps it, so a retry whose answer is lost
// too may be asked again) and its CSR is for the key that renewal
// recorded (the CSR's signature proves it holds that key). An older
// certificate of the name is refused.
func (r *Registry) Renew(ctx context.Context, req *connect.Request[nodev1.RenewRequest]) (*connect.Response[nodev1.RenewResponse], error) {
	cert := peerCert(ctx)
	if cert == nil {
		return nil, connectError(fmt.Errorf("a renewal needs the node's client certificate: join first: %w", errdefs.ErrUnauthenticated))
	}
	id := cert.Subject.CommonName
	certPEM, servingPEM, err := r.renew(ctx, id, cert, req.Msg.GetCsrPem())
	if err != nil {
		r.log.Warn("node renewal refused", "node", id, "err", err)
		return nil, connectError(err)
	}
	r.log.Info("node certificates renewed", "node", id)
	return connect.NewResponse(&nodev1.RenewResponse{CertificatePem: certPEM, ServingCertificatePem: servingPEM, CaPem: r.ca.CertPEM()}), nil
}

func (r *Registry) renew(ctx context.Context, id string, cert *x509.Certificate, csrPEM []byte) (certPEM, servingPEM []byte, err error) {
	n, err := r.st.GetNode(ctx, id)
	if errdefs.IsNotFound(err) {
		return nil, nil, fmt.Errorf("node %q is not registered: %w", id, errdefs.ErrUnauthenticated)
	}
	if err != nil {
		return nil, nil, err
	}
	keyFP, err := nodeca.CSRKeyFingerprint(id, csrPEM)
	if err != nil {
		return nil, nil, err
	}
	presented := nodeca.CertFingerprint(cert.Raw)
	current := n.CertFingerprint == presented
	// A retry comes with the certificate the renewal of record replaced,
	// no older one of the name.
	retry := n.KeyFingerprint != "" && keyFP == n.KeyFingerprint && n.PreviousCertFingerprint != "" && presented == n.PreviousCertFingerprint
	if n.Embedded || !(current || retry) {
		return nil, nil, fmt.Errorf("node %q: this certificate is not the one of record: %w", id, errdefs.ErrPermissionDenied)
	}
	certPEM, fp, err := r.ca.SignNode(id, csrPEM)
	if err != nil {
		return nil, nil, err
	}
	servingPEM, err = r.ca.SignServing(id, csrPEM)
	if err != nil {
		return nil, nil, err
	}
	if err := r.st.SetNodeCertificate(ctx, id, n.CertFingerprint, presented, fp, keyFP); err != nil {
		return nil, nil, err
	}
	return certPEM, servingPEM, nil
}
