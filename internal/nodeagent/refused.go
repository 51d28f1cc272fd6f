package nodeagent

import (
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"time"

	"connectrpc.com/connect"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// refused reports whether a heartbeat's error is the control plane
// refusing this node for good (not a network failure to wait out): the
// service said so (unauthenticated, permission denied), or a TLS
// handshake refused the node's certificate or the control plane's; of
// several replicas, every one refused.
func refused(err error) bool {
	var none *noneAnswered
	if errors.As(err, &none) {
		return none.refused
	}
	if serviceRefused(err) {
		return true
	}
	var unknownCA x509.UnknownAuthorityError
	var invalid x509.CertificateInvalidError
	if errors.As(err, &unknownCA) || errors.As(err, &invalid) {
		return true
	}
	// A TLS alert from the server has no exported type outside QUIC: its
	// text is all there is ("remote error: tls: bad certificate",
	// "... expired certificate", "... certificate required").
	msg := err.Error()
	return strings.Contains(msg, "remote error: tls:") && strings.Contains(msg, "certificate")
}

// serviceRefused reports whether err is the node service's own refusal
// of this node (unauthenticated, permission denied), which every replica
// of one store gives alike; a TLS failure is not one.
func serviceRefused(err error) bool {
	code := connect.CodeOf(err)
	return code == connect.CodeUnauthenticated || code == connect.CodePermissionDenied
}

// usable says why the node's certificate can no longer heartbeat: it
// expired. The node then stops, saying how to join again, rather than
// retry a handshake the control plane refuses.
func (id *identity) usable(now time.Time) error {
	leaf, err := id.clientLeaf()
	if err != nil || leaf == nil {
		return err
	}
	if now.After(leaf.NotAfter) {
		return fmt.Errorf("node %q: its certificate expired at %s: delete the node (DELETE /nodes/%s), remove %s and join again with a new token: %w",
			id.Name, leaf.NotAfter.UTC().Format(time.RFC3339), id.Name, "<data-dir>/node", errdefs.ErrFailedPrecondition)
	}
	return nil
}
