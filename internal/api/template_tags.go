package api

import (
	"net/http"
	"time"
)

// assignTags is POST /templates/tags: E2B's AssignTemplateTagsRequest,
// answered with AssignedTemplateTags.
func (t *Templates) assignTags(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Target string   `json:"target"`
		Tags   []string `json:"tags"`
	}
	if err := decodeBody(r.Body, &body); err != nil {
		t.api.writeError(w, r, err)
		return
	}
	buildID, err := t.cat.AssignTags(r.Context(), t.team(r), body.Target, body.Tags)
	if err != nil {
		t.api.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"tags": body.Tags, "buildID": buildID})
}

// removeTags is DELETE /templates/tags: E2B's DeleteTemplateTagsRequest.
func (t *Templates) removeTags(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Name string   `json:"name"`
		Tags []string `json:"tags"`
	}
	if err := decodeBody(r.Body, &body); err != nil {
		t.api.writeError(w, r, err)
		return
	}
	if err := t.cat.RemoveTags(r.Context(), t.team(r), body.Name, body.Tags); err != nil {
		t.api.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// tagsOrAlias routes GET /templates/aliases/{alias} and
// GET /templates/{id}/tags.
func (t *Templates) tagsOrAlias(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.PathValue("a") == "aliases":
		t.alias(w, r, r.PathValue("b"))
	case r.PathValue("b") == "tags":
		t.tags(w, r, r.PathValue("a"))
	default:
		t.api.noRoute(w, r)
	}
}

// tags is GET /templates/{id}/tags: a list of E2B's TemplateTag.
func (t *Templates) tags(w http.ResponseWriter, r *http.Request, id string) {
	tags, err := t.cat.Tags(r.Context(), t.team(r), id)
	if err != nil {
		t.api.writeError(w, r, err)
		return
	}
	type tagBody struct {
		Tag       string    `json:"tag"`
		BuildID   string    `json:"buildID"`
		CreatedAt time.Time `json:"createdAt"`
	}
	out := make([]tagBody, 0, len(tags))
	for _, tg := range tags {
		out = append(out, tagBody{Tag: tg.Tag, BuildID: tg.BuildID, CreatedAt: tg.CreatedAt})
	}
	writeJSON(w, http.StatusOK, out)
}

// alias is GET /templates/aliases/{alias}: E2B's TemplateAliasResponse;
// 403 when another team owns the name, 404 when nobody does.
func (t *Templates) alias(w http.ResponseWriter, r *http.Request, alias string) {
	tpl, err := t.cat.Alias(r.Context(), t.team(r), alias)
	if err != nil {
		t.api.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"templateID": tpl.ID, "public": tpl.Public})
}
