package api

import (
	"fmt"
	"net/http"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
)

// newSecretBody is E2B's NewSecret.
type newSecretBody struct {
	Value       string   `json:"value"`
	Label       string   `json:"label"`
	Description string   `json:"description"`
	Allowlist   []string `json:"allowlist"`
}

// createSecret is E2B's POST /secrets: the value is sealed before it is
// stored and is never shown again; 201 with the metadata. A label the
// team already uses answers 409.
func (t *Teams) createSecret(w http.ResponseWriter, r *http.Request) {
	k, err := caller(r)
	if err != nil {
		t.api.writeError(w, r, err)
		return
	}
	if t.sealer == nil {
		t.api.writeError(w, r, fmt.Errorf("secrets are off on this server: %w", errdefs.ErrFailedPrecondition))
		return
	}
	var b newSecretBody
	if err := decodeStrictBody(r.Body, &b); err != nil {
		t.api.writeError(w, r, err)
		return
	}
	allow, err := checkAllowlist(b.Allowlist)
	for _, check := range []error{checkSecretValue(b.Value), checkSecretLabel(b.Label), checkSecretDescription(b.Description), err} {
		if check != nil {
			t.api.writeError(w, r, check)
			return
		}
	}
	now := time.Now().UTC()
	s := store.Secret{ID: newSecretID(), Team: k.Team, Label: b.Label, Description: b.Description, Allowlist: allow,
		CreatedAt: now, UpdatedAt: now}
	s.Sealed = t.sealer.Seal(s.Team, s.ID, []byte(b.Value))
	if err := t.st.CreateSecret(r.Context(), s); err != nil {
		t.api.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, toSecretJSON(s))
}
