package store

import (
	"context"
	"fmt"

	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// Secret is a team's secret (E2B's /secrets): its metadata and its value
// sealed (encrypted and authenticated). The store never holds the value
// in the clear; nothing that reads the store can show it.
type Secret struct {
	ID   string
	Team string
	// Label names the secret; unique in its team.
	Label       string
	Description string
	// Allowlist names the hosts the value may be sent to ("*": any).
	Allowlist []string
	// Sealed is the value as the server sealed it (nonce and ciphertext).
	Sealed    []byte
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Secrets stores teams' secrets. Every method is scoped by team: another
// team's secret is ErrNotFound, as an unknown one.
type Secrets interface {
	// CreateSecret stores a secret; a duplicate id, or a label the team
	// already uses, is ErrAlreadyExists.
	CreateSecret(ctx context.Context, s Secret) error
	// GetSecret returns a secret of team.
	GetSecret(ctx context.Context, team, id string) (Secret, error)
	// ListSecrets returns the team's secrets by creation time.
	ListSecrets(ctx context.Context, team string) ([]Secret, error)
	// UpdateSecret replaces the label, description and allowlist of a
	// secret of team, and its sealed value if s.Sealed is not empty, and
	// sets UpdatedAt (the store's time if zero). A label the team's other
	// secret uses is ErrAlreadyExists.
	UpdateSecret(ctx context.Context, s Secret) error
	// DeleteSecret deletes a secret of team.
	DeleteSecret(ctx context.Context, team, id string) error
}

// ValidateSecret checks a secret before it is stored (sealed is whether
// the value must be present).
func ValidateSecret(s Secret, sealed bool) error {
	if s.ID == "" || s.Team == "" || s.Label == "" || (sealed && len(s.Sealed) == 0) {
		return fmt.Errorf("secret: id, team, label and value are required: %w", errdefs.ErrInvalidArgument)
	}
	if err := validateTexts([2]string{"secret id", s.ID}, [2]string{"team", s.Team}, [2]string{"secret label", s.Label},
		[2]string{"secret description", s.Description}); err != nil {
		return err
	}
	for _, h := range s.Allowlist {
		if err := ValidateText("secret allowlist host", h); err != nil {
			return err
		}
	}
	return nil
}
