package api

import (
	"net/http"
)

// list is GET /templates: E2B's Template for every template the team
// owns and every public one.
func (t *Templates) list(w http.ResponseWriter, r *http.Request) {
	infos, err := t.cat.List(r.Context(), t.team(r))
	if err != nil {
		t.api.writeError(w, r, err)
		return
	}
	out := make([]templateBody, 0, len(infos))
	for _, i := range infos {
		out = append(out, templateJSON(i))
	}
	writeJSON(w, http.StatusOK, out)
}

// get is GET /templates/{id}: E2B's TemplateWithBuilds.
func (t *Templates) get(w http.ResponseWriter, r *http.Request) {
	i, err := t.cat.Get(r.Context(), t.team(r), r.PathValue("id"))
	if err != nil {
		t.api.writeError(w, r, err)
		return
	}
	builds := make([]buildBody, 0, len(i.Builds))
	for _, b := range i.Builds {
		builds = append(builds, buildJSON(b))
	}
	tb := templateJSON(i)
	writeJSON(w, http.StatusOK, map[string]any{
		"templateID": tb.TemplateID, "public": tb.Public, "aliases": tb.Aliases, "names": tb.Names,
		"createdAt": tb.CreatedAt, "updatedAt": tb.UpdatedAt, "lastSpawnedAt": nil, "spawnCount": 0,
		"builds": builds, "sizeBytes": tb.SizeBytes,
	})
}
