package store

import (
	"context"
	"fmt"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// KeyFingerprints records a fingerprint of each key the control planes
// of one store must share (the audit key, the access-token secret, the
// secrets key, the node CA), so that a control plane started with other
// keys is refused rather than serving tokens, sealed values and an audit
// chain the others cannot read.
type KeyFingerprints interface {
	// ClaimKeyFingerprint records fingerprint as the key name's if none
	// is recorded yet, and returns the one recorded: fingerprint itself
	// the first time, the first one recorded ever after. Empty name or
	// fingerprint is ErrInvalidArgument.
	ClaimKeyFingerprint(ctx context.Context, name, fingerprint string) (string, error)
}

// ValidateKeyFingerprint checks a ClaimKeyFingerprint's arguments.
func ValidateKeyFingerprint(name, fingerprint string) error {
	if name == "" || fingerprint == "" {
		return fmt.Errorf("key fingerprint: want a key name and a fingerprint, have %q and %q: %w", name, fingerprint, errdefs.ErrInvalidArgument)
	}
	if err := ValidateText("key name", name); err != nil {
		return err
	}
	return ValidateText("key fingerprint", fingerprint)
}
