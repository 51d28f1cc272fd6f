package api

import (
	"fmt"

	"github.com/soulbox/soulbox/internal/authz"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
)

// mayGrantMembership returns nil if c may give a user a membership's
// rights: adding a member, or raising one's role (from old to role).
// A membership has every right of its role, so a key limited to scopes
// could hand out more than it has; and an access token made from a key
// is a short-lived credential that must not outlive itself as a
// membership. A member's own token (their only credential) may.
func (c memberCaller) mayGrantMembership(old, role store.Role) error {
	if old != "" && authz.Outranks(old, role) {
		return nil // not a promotion
	}
	if c.keyToken {
		return fmt.Errorf("an access token made from an API key cannot add members or raise their role: use the key itself: %w", errdefs.ErrPermissionDenied)
	}
	if len(c.key.Scopes) > 0 {
		return fmt.Errorf("the calling key is limited to scopes %v and a member has every right of their role: adding members or raising their role needs a key without scopes: %w",
			c.key.Scopes, errdefs.ErrPermissionDenied)
	}
	return nil
}
