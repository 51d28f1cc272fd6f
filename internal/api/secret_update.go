package api

import (
	"fmt"
	"net/http"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// updateSecretBody is E2B's UpdateSecret (label, description) with the
// value and allowlist besides. An absent field is left as it is.
type updateSecretBody struct {
	Label       *string   `json:"label"`
	Description *string   `json:"description"`
	Value       *string   `json:"value"`
	Allowlist   *[]string `json:"allowlist"`
}

// updateSecret is E2B's PATCH /secrets/{secretID}: it relabels or
// describes a secret of the team, and (a SoulBox extension) replaces its
// value or allowlist; 200 with the metadata. A label another of the
// team's secrets has answers 409; another team's secret 404.
func (t *Teams) updateSecret(w http.ResponseWriter, r *http.Request) {
	k, err := caller(r)
	if err != nil {
		t.api.writeError(w, r, err)
		return
	}
	if t.sealer == nil {
		t.api.writeError(w, r, fmt.Errorf("secrets are off on this server: %w", errdefs.ErrFailedPrecondition))
		return
	}
	var b updateSecretBody
	if err := decodeStrictBody(r.Body, &b); err != nil {
		t.api.writeError(w, r, err)
		return
	}
	if b == (updateSecretBody{}) {
		t.api.writeError(w, r, fmt.Errorf("nothing to change: send label, description, value or allowlist: %w", errdefs.ErrInvalidArgument))
		return
	}
	s, err := t.st.GetSecret(r.Context(), k.Team, r.PathValue("secretID"))
	if err != nil {
		t.api.writeError(w, r, err)
		return
	}
	if b.Label != nil {
		if err := checkSecretLabel(*b.Label); err != nil {
			t.api.writeError(w, r, err)
			return
		}
		s.Label = *b.Label
	}
	if b.Description != nil {
		if err := checkSecretDescription(*b.Description); err != nil {
			t.api.writeError(w, r, err)
			return
		}
		s.Description = *b.Description
	}
	if b.Allowlist != nil {
		if s.Allowlist, err = checkAllowlist(*b.Allowlist); err != nil {
			t.api.writeError(w, r, err)
			return
		}
	}
	s.Sealed = nil // kept as stored unless a value comes
	if b.Value != nil {
		if err := checkSecretValue(*b.Value); err != nil {
			t.api.writeError(w, r, err)
			return
		}
		s.Sealed = t.sealer.Seal(s.Team, s.ID, []byte(*b.Value))
	}
	s.UpdatedAt = time.Now().UTC()
	if err := t.st.UpdateSecret(r.Context(), s); err != nil {
		t.api.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toSecretJSON(s))
}
