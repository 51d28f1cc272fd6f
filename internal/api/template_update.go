package api

import (
	"fmt"
	"net/http"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// update is PATCH /templates/{id} (and /v2/...): E2B's
// TemplateUpdateRequest, answered with TemplateUpdateResponse.
func (t *Templates) update(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Public *bool `json:"public"`
	}
	if err := decodeBody(r.Body, &body); err != nil {
		t.api.writeError(w, r, err)
		return
	}
	if body.Public == nil {
		t.api.writeError(w, r, fmt.Errorf("nothing to update: give public: %w", errdefs.ErrInvalidArgument))
		return
	}
	tpl, err := t.cat.SetPublic(r.Context(), t.team(r), r.PathValue("id"), *body.Public)
	if err != nil {
		t.api.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"names": tpl.Names})
}
