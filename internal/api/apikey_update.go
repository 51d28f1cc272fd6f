package api

import (
	"fmt"
	"net/http"

	"github.com/soulbox/soulbox/internal/auth"
	"github.com/soulbox/soulbox/internal/errdefs"
)

// renameKeyBody is E2B's UpdateTeamAPIKey.
type renameKeyBody struct {
	Name string `json:"name"`
}

// renameKey is E2B's PATCH /api-keys/{apiKeyID}: 200 with no body. The
// caller may rename only keys it could have issued (mayManage).
func (t *Teams) renameKey(w http.ResponseWriter, r *http.Request) {
	k, err := caller(r)
	if err != nil {
		t.api.writeError(w, r, err)
		return
	}
	var b renameKeyBody
	if err := decodeStrictBody(r.Body, &b); err != nil {
		t.api.writeError(w, r, err)
		return
	}
	if b.Name == "" || len(b.Name) > auth.MaxKeyNameLen {
		t.api.writeError(w, r, fmt.Errorf("name: want 1 to %d bytes: %w", auth.MaxKeyNameLen, errdefs.ErrInvalidArgument))
		return
	}
	id := r.PathValue("apiKeyID")
	target, err := t.teamKey(r.Context(), k.Team, id)
	if err != nil {
		t.api.writeError(w, r, err)
		return
	}
	if err := mayManage(k, target); err != nil {
		t.api.writeError(w, r, err)
		return
	}
	if err := t.st.RenameAPIKey(r.Context(), k.Team, id, b.Name); err != nil {
		t.api.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}
