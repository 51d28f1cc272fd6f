package api

import (
	"errors"
	"net/http"

	"github.com/soulbox/soulbox/internal/catalog"
	"github.com/soulbox/soulbox/internal/httperr"
)

// fileUpload is GET /templates/{id}/files/{hash}: E2B's
// TemplateBuildFileUpload, whether the files of a COPY step are cached
// and, if not, the URL to PUT their tar archive to.
func (t *Templates) fileUpload(w http.ResponseWriter, r *http.Request) {
	present, token, err := t.cat.FileUpload(r.Context(), t.team(r), r.PathValue("id"), r.PathValue("hash"))
	if err != nil {
		t.api.writeError(w, r, err)
		return
	}
	if present {
		writeJSON(w, http.StatusCreated, map[string]any{"present": true})
		return
	}
	scheme := "http"
	if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
		scheme = "https"
	}
	writeJSON(w, http.StatusCreated, map[string]any{"present": false, "url": scheme + "://" + r.Host + UploadPrefix + token})
}

// upload is the PUT of an upload URL. An archive over the size limits is
// answered 413.
func (t *Templates) upload(w http.ResponseWriter, r *http.Request) {
	if err := t.cat.Upload(r.Context(), r.PathValue("token"), r.Body); err != nil {
		if errors.Is(err, catalog.ErrTooLarge) {
			err = httperr.Status(http.StatusRequestEntityTooLarge, err.Error())
		}
		t.api.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}
