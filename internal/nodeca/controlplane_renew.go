package nodeca

import (
	"crypto/tls"
	"sync"
	"time"
)

// ControlPlaneCertificates is the control plane's client certificate
// for the nodes' sandbox services, as a tls.Config.GetClientCertificate:
// signed on first use and signed again (a fresh key) once less than a
// third of its lifetime remains, so that a control plane running longer
// than a certificate lives keeps reaching its nodes. Connections made
// before a renewal keep the certificate they shook hands with. If
// signing fails the current certificate is used while it is valid.
func (ca *CA) ControlPlaneCertificates() func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	var mu sync.Mutex
	var cur tls.Certificate
	return func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
		mu.Lock()
		defer mu.Unlock()
		now := time.Now()
		if cur.Leaf == nil || RenewDue(cur.Leaf.NotBefore, cur.Leaf.NotAfter, now) {
			next, err := ca.ControlPlaneClient()
			switch {
			case err == nil:
				cur = next
			case cur.Leaf == nil || now.After(cur.Leaf.NotAfter):
				return nil, err
			}
		}
		c := cur
		return &c, nil
	}
}
