package api

import (
	"net/http"
)

// listSecrets is E2B's GET /secrets: the team's secrets, oldest first,
// metadata only.
func (t *Teams) listSecrets(w http.ResponseWriter, r *http.Request) {
	k, err := caller(r)
	if err != nil {
		t.api.writeError(w, r, err)
		return
	}
	list, err := t.st.ListSecrets(r.Context(), k.Team)
	if err != nil {
		t.api.writeError(w, r, err)
		return
	}
	out := make([]secretJSON, 0, len(list))
	for _, s := range list {
		out = append(out, toSecretJSON(s))
	}
	writeJSON(w, http.StatusOK, out)
}

// getSecret is GET /secrets/{secretID} (a SoulBox extension beside E2B's
// four): one secret's metadata; another team's answers 404.
func (t *Teams) getSecret(w http.ResponseWriter, r *http.Request) {
	k, err := caller(r)
	if err != nil {
		t.api.writeError(w, r, err)
		return
	}
	s, err := t.st.GetSecret(r.Context(), k.Team, r.PathValue("secretID"))
	if err != nil {
		t.api.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toSecretJSON(s))
}
