package api

import "net/http"

// delete is DELETE /templates/{id}: the template, its builds and tags go,
// and its layers unless another template shares them. Refused while
// sandboxes run from it.
func (t *Templates) delete(w http.ResponseWriter, r *http.Request) {
	if err := t.cat.Delete(r.Context(), t.team(r), r.PathValue("id")); err != nil {
		t.api.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
