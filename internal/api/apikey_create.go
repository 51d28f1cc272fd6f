package api

import (
	"fmt"
	"net/http"
	"slices"

	"github.com/soulbox/soulbox/internal/authz"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
)

// createKey is E2B's POST /api-keys: a new key of the caller's team,
// shown once. Its role defaults to developer and may not outrank the
// caller's; a caller limited by scopes hands out no scope it lacks; an
// access token makes no keys.
func (t *Teams) createKey(w http.ResponseWriter, r *http.Request) {
	k, err := caller(r)
	if err != nil {
		t.api.writeError(w, r, err)
		return
	}
	if t.refuseToken(w, r, "create API keys") {
		return
	}
	var b newKeyBody
	if err := decodeStrictBody(r.Body, &b); err != nil {
		t.api.writeError(w, r, err)
		return
	}
	if err := b.check(store.RoleDeveloper); err != nil {
		t.api.writeError(w, r, err)
		return
	}
	if !authz.Outranks(k.Role, store.Role(b.Role)) {
		t.api.writeError(w, r, fmt.Errorf("role %q outranks the calling key's role %q: %w", b.Role, k.Role, errdefs.ErrPermissionDenied))
		return
	}
	if len(k.Scopes) > 0 {
		if len(b.Scopes) == 0 {
			t.api.writeError(w, r, fmt.Errorf("the calling key is limited to scopes %v: give the new key some of them: %w", k.Scopes, errdefs.ErrPermissionDenied))
			return
		}
		for _, s := range b.Scopes {
			if !slices.Contains(k.Scopes, s) {
				t.api.writeError(w, r, fmt.Errorf("scope %q: the calling key does not have it: %w", s, errdefs.ErrPermissionDenied))
				return
			}
		}
	}
	t.issue(w, r, k.Team, b)
}
