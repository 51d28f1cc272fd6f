package api

import "net/http"

// deleteSecret is E2B's DELETE /secrets/{secretID}: the secret and its
// sealed value are gone; 204. Another team's secret answers 404.
func (t *Teams) deleteSecret(w http.ResponseWriter, r *http.Request) {
	k, err := caller(r)
	if err != nil {
		t.api.writeError(w, r, err)
		return
	}
	if err := t.st.DeleteSecret(r.Context(), k.Team, r.PathValue("secretID")); err != nil {
		t.api.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
