package api

import (
	"net/http"

	"github.com/soulbox/soulbox/internal/store"
)

// adminCreateKey is E2B's POST /admin/teams/{teamID}/api-keys with
// SoulBox's role (default owner: the first key of a new team manages
// it) and scopes: 201 with the key, shown once. An access token makes no
// keys.
func (t *Teams) adminCreateKey(w http.ResponseWriter, r *http.Request) {
	if t.refuseToken(w, r, "create API keys") {
		return
	}
	team := r.PathValue("teamID")
	var b newKeyBody
	if err := decodeStrictBody(r.Body, &b); err != nil {
		t.api.writeError(w, r, err)
		return
	}
	if err := b.check(store.RoleOwner); err != nil {
		t.api.writeError(w, r, err)
		return
	}
	if _, err := t.st.GetTeam(r.Context(), team); err != nil {
		t.api.writeError(w, r, err)
		return
	}
	t.issue(w, r, team, b)
}

// adminDeleteKey is E2B's DELETE /admin/teams/{teamID}/api-keys/{apiKeyID}.
func (t *Teams) adminDeleteKey(w http.ResponseWriter, r *http.Request) {
	t.revoke(w, r, nil, r.PathValue("teamID"), r.PathValue("apiKeyID"))
}
