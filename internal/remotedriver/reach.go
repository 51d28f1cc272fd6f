package remotedriver

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"

	"connectrpc.com/connect"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// reachFailed reports whether a call's error is a failure to reach the
// node, before it could answer: connecting (refused, unreachable, timed
// out) or the TLS handshake (a certificate the node CA did not sign,
// not for the node's name or pinned key, a TLS alert). A call cut short
// by its context is not.
func reachFailed(err error) bool {
	if connect.CodeOf(err) != connect.CodeUnavailable {
		return false
	}
	var op *net.OpError
	var verify *tls.CertificateVerificationError
	var alert tls.AlertError
	var hostname x509.HostnameError
	var unknown x509.UnknownAuthorityError
	return errors.As(err, &op) || errors.As(err, &verify) || errors.As(err, &alert) || errors.As(err, &hostname) ||
		errors.As(err, &unknown) || errors.Is(err, errdefs.ErrPermissionDenied) // nodeca.RequireKey's refusal, from this side
}

// notReached reports whether a call's error is a failure to reach the
// node before anything was sent: the connection could not be made, or
// the TLS handshake failed. A connection that breaks later (reset after
// the request went out) is a failure to reach it too (reachFailed), but
// the node may have received the call.
func notReached(err error) bool {
	if !reachFailed(err) {
		return false
	}
	var verify *tls.CertificateVerificationError
	var alert tls.AlertError
	var hostname x509.HostnameError
	var unknown x509.UnknownAuthorityError
	if errors.As(err, &verify) || errors.As(err, &alert) || errors.As(err, &hostname) || errors.As(err, &unknown) ||
		errors.Is(err, errdefs.ErrPermissionDenied) {
		return true // the handshake's refusals
	}
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}
