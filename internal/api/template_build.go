package api

import (
	"net/http"

	"github.com/soulbox/soulbox/internal/catalog"
)

// startBuild is POST /v2/templates/{id}/builds/{buildID}: E2B's
// TemplateBuildStartV2. The build runs in the background; its status and
// logs are polled.
func (t *Templates) startBuild(w http.ResponseWriter, r *http.Request) {
	var spec catalog.BuildSpec
	if err := decodeBody(r.Body, &spec); err != nil {
		t.api.writeError(w, r, err)
		return
	}
	if err := t.cat.StartBuild(r.Context(), t.team(r), r.PathValue("id"), r.PathValue("buildID"), spec); err != nil {
		t.api.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}
