package api

import (
	"fmt"
	"net/http"
	"slices"

	"github.com/soulbox/soulbox/internal/auth"
	"github.com/soulbox/soulbox/internal/authz"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
)

// refuseToken answers 403 and returns true when the request came with an
// access token: what outlives a token (a permanent key, a deleted team)
// needs the API key itself, or a token stolen for fifteen minutes would
// buy permanent access.
func (t *Teams) refuseToken(w http.ResponseWriter, r *http.Request, what string) bool {
	if !auth.ViaToken(r.Context()) {
		return false
	}
	t.api.writeError(w, r, fmt.Errorf("an access token cannot %s: use the API key: %w", what, errdefs.ErrPermissionDenied))
	return true
}

// mayManage returns nil if caller may revoke or rename target, both of
// one team: its role outranks the target's (only an owner manages an
// owner's key), and a caller limited by scopes acts only on keys whose
// scopes are some of its own (a key without scopes has them all).
func mayManage(caller, target store.APIKey) error {
	if !authz.Outranks(caller.Role, target.Role) {
		return fmt.Errorf("API key %s may not manage key %s: its role outranks the caller's: %w",
			authz.Describe(caller), authz.Describe(target), errdefs.ErrPermissionDenied)
	}
	if len(caller.Scopes) == 0 {
		return nil
	}
	if len(target.Scopes) == 0 {
		return fmt.Errorf("API key %s may not manage key %s: that key has no scope limit and the caller has: %w",
			authz.Describe(caller), authz.Describe(target), errdefs.ErrPermissionDenied)
	}
	for _, s := range target.Scopes {
		if !slices.Contains(caller.Scopes, s) {
			return fmt.Errorf("API key %s may not manage key %s: scope %q is not the caller's: %w",
				authz.Describe(caller), authz.Describe(target), s, errdefs.ErrPermissionDenied)
		}
	}
	return nil
}
