package api

import (
	"net/http"

	"github.com/soulbox/soulbox/internal/catalog"
)

// requestBody is E2B's TemplateBuildRequestV3.
type templateRequestBody struct {
	Name     string   `json:"name"`
	Alias    string   `json:"alias"` // deprecated name of Name
	Tags     []string `json:"tags"`
	CPUCount int      `json:"cpuCount"`
	MemoryMB int      `json:"memoryMB"`
	TeamID   string   `json:"teamID"`
	// minFreeDiskMb is sent by newer SDKs; builds here are bounded by the
	// sandbox disk quota instead.
	MinFreeDiskMB int `json:"minFreeDiskMb"`
}

// requestBuild is POST /v3/templates: a new build of a template, created
// if the name is new. The answer is E2B's TemplateRequestResponseV3.
func (t *Templates) requestBuild(w http.ResponseWriter, r *http.Request) {
	var body templateRequestBody
	if err := decodeBody(r.Body, &body); err != nil {
		t.api.writeError(w, r, err)
		return
	}
	if body.Name == "" {
		body.Name = body.Alias
	}
	tpl, b, tags, err := t.cat.RequestBuild(r.Context(), catalog.BuildRequest{
		Team: t.team(r), Name: body.Name, Tags: body.Tags, CPUCount: body.CPUCount, MemoryMB: body.MemoryMB,
	})
	if err != nil {
		t.api.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{
		"templateID": tpl.ID, "buildID": b.ID, "public": tpl.Public,
		"names": tpl.Names, "aliases": tpl.Names, "tags": tags,
	})
}
