package api

import (
	"net/http"
	"time"

	"github.com/soulbox/soulbox/internal/store"
)

// deleteKey is E2B's DELETE /api-keys/{apiKeyID}: the key stops working
// at once (it is revoked; its record stays for the audit). The caller
// may revoke only keys it could have issued (mayManage).
func (t *Teams) deleteKey(w http.ResponseWriter, r *http.Request) {
	k, err := caller(r)
	if err != nil {
		t.api.writeError(w, r, err)
		return
	}
	t.revoke(w, r, &k, k.Team, r.PathValue("apiKeyID"))
}

// revoke revokes team's key id and answers 204; by, if not nil, is the
// team's key asking, which must be allowed to manage it.
func (t *Teams) revoke(w http.ResponseWriter, r *http.Request, by *store.APIKey, team, id string) {
	target, err := t.teamKey(r.Context(), team, id)
	if err != nil {
		t.api.writeError(w, r, err)
		return
	}
	if by != nil {
		if err := mayManage(*by, target); err != nil {
			t.api.writeError(w, r, err)
			return
		}
	}
	if err := t.st.RevokeAPIKey(r.Context(), id, time.Now()); err != nil {
		t.api.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
