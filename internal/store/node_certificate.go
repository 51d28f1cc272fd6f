package store

import (
	"fmt"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// ValidateNodeCertificate checks the arguments of SetNodeCertificate:
// every one is needed but previous.
func ValidateNodeCertificate(id, from, previous, certFingerprint, keyFingerprint string) error {
	if id == "" || from == "" || certFingerprint == "" || keyFingerprint == "" {
		return fmt.Errorf("node certificate: the node, its current and new certificate fingerprints and its key fingerprint are required: %w", errdefs.ErrInvalidArgument)
	}
	return validateTexts([2]string{"node id", id}, [2]string{"node certificate fingerprint", from}, [2]string{"node previous certificate fingerprint", previous},
		[2]string{"node certificate fingerprint", certFingerprint}, [2]string{"node key fingerprint", keyFingerprint})
}

// NodeCertificateIs is SetNodeCertificate's compare: the node is a
// joined one and its certificate fingerprint cur is still from.
func NodeCertificateIs(id string, embedded bool, cur, from string) error {
	if embedded {
		return fmt.Errorf("node %q is the embedded node: it has no certificate: %w", id, errdefs.ErrFailedPrecondition)
	}
	if cur != from {
		return fmt.Errorf("node %q: its certificate changed meanwhile: %w", id, errdefs.ErrFailedPrecondition)
	}
	return nil
}
