package nodeca

import "time"

// SetLifetime sets how long the certificates signed from now on for
// nodes (client and serving) and for the control plane's client live;
// d <= 0 restores ClientCertLifetime. Each is renewed once less than a
// third of its lifetime remains (RenewDue), so a short lifetime makes
// renewals frequent: it is meant for tests.
func (ca *CA) SetLifetime(d time.Duration) { ca.lifetime.Store(int64(max(d, 0))) }

// Lifetime is how long the certificates the authority signs live.
func (ca *CA) Lifetime() time.Duration {
	if d := time.Duration(ca.lifetime.Load()); d > 0 {
		return d
	}
	return ClientCertLifetime
}

// RenewDue reports whether a certificate valid from notBefore to
// notAfter should be renewed at now: less than a third of its lifetime
// remains.
func RenewDue(notBefore, notAfter, now time.Time) bool {
	return notAfter.Sub(now) < notAfter.Sub(notBefore)/3
}

// backdate is how far before now a certificate is valid from, for
// clocks a little behind: five minutes, or a tenth of a short lifetime,
// so that RenewDue reads the lifetime as set.
func (ca *CA) backdate() time.Duration { return min(5*time.Minute, ca.Lifetime()/10) }
