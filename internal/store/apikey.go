package store

import (
	"fmt"
	"strings"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// APIKey is a key that opens the control plane's API. Only its hash is
// stored; the key itself is shown once, when it is made.
type APIKey struct {
	ID   string
	Name string
	// Prefix is the start of the key, shown in listings to tell keys apart.
	Prefix string
	// Hash is the hex SHA-256 of the whole key.
	Hash string
	// Team owns the sandboxes the key creates.
	Team  string
	Admin bool
	// Role is the key's role in its team (RoleOwner ... RoleViewer).
	Role Role
	// Scopes, if not empty, limit the key to these scopes on top of its
	// role (see the authz package).
	Scopes    []string
	CreatedAt time.Time
	// LastUsedAt is when the key last opened the API, up to a minute
	// behind (the authenticator records a use at most once a minute per
	// key); nil if it never has.
	LastUsedAt *time.Time
	// RevokedAt is when the key stopped working; nil while it works.
	RevokedAt *time.Time
	// User is set, never stored, when the credential was a member's
	// access token rather than a key: the user's id. Then ID is
	// "user:" and the user's id, Prefix the user's email, and Team and
	// Role the membership's.
	User string
}

// ValidateAPIKey checks a key before it is stored.
func ValidateAPIKey(k APIKey) error {
	if k.ID == "" || k.Hash == "" || k.Team == "" {
		return fmt.Errorf("api key: id, hash and team are required: %w", errdefs.ErrInvalidArgument)
	}
	if err := validateTexts([2]string{"api key id", k.ID}, [2]string{"api key name", k.Name}, [2]string{"api key prefix", k.Prefix},
		[2]string{"api key hash", k.Hash}, [2]string{"team", k.Team}); err != nil {
		return err
	}
	if k.Role != "" && !k.Role.Valid() {
		return fmt.Errorf("api key %q: unknown role %q: %w", k.ID, k.Role, errdefs.ErrInvalidArgument)
	}
	for _, sc := range k.Scopes {
		if sc == "" || strings.Contains(sc, ",") {
			return fmt.Errorf("api key %q: scope %q: want a name without commas: %w", k.ID, sc, errdefs.ErrInvalidArgument)
		}
		if err := ValidateText("api key scope", sc); err != nil {
			return err
		}
	}
	if k.RevokedAt != nil {
		return fmt.Errorf("api key %q: a new key cannot be revoked: %w", k.ID, errdefs.ErrInvalidArgument)
	}
	return nil
}
