package api

import (
	"net/http"
	"time"
)

// deleteKey is E2B's DELETE /api-keys/{apiKeyID}: the key stops working
// at once (it is revoked; its record stays for the audit).
func (t *Teams) deleteKey(w http.ResponseWriter, r *http.Request) {
	k, err := caller(r)
	if err != nil {
		t.api.writeError(w, r, err)
		return
	}
	t.revoke(w, r, k.Team, r.PathValue("apiKeyID"))
}

// revoke revokes team's key id and answers 204.
func (t *Teams) revoke(w http.ResponseWriter, r *http.Request, team, id string) {
	if _, err := t.teamKey(r.Context(), team, id); err != nil {
		t.api.writeError(w, r, err)
		return
	}
	if err := t.st.RevokeAPIKey(r.Context(), id, time.Now()); err != nil {
		t.api.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
