package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/soulbox/soulbox/internal/auth"
	"github.com/soulbox/soulbox/internal/authz"
	"github.com/soulbox/soulbox/internal/errdefs"
)

// deleteToken is E2B's DELETE /access-tokens/{accessTokenID}: the token
// stops working at once, for every request after the answer and for an
// open event stream within its recheck. The key a token stands for may
// revoke it (with the key or with one of its tokens, which logs a token
// out); so may the team's key managers, for the tokens of keys they
// could manage. A member's token (from signing in) the member may revoke,
// and the key managers whose role outranks the member's. Another team's
// token, an unknown one and one already
// revoked answer 404.
func (t *Teams) deleteToken(w http.ResponseWriter, r *http.Request) {
	k, err := caller(r)
	if err != nil {
		t.api.writeError(w, r, err)
		return
	}
	id := r.PathValue("accessTokenID")
	rec, err := t.st.GetAccessToken(r.Context(), id)
	if err == nil && (rec.Team != k.Team || rec.RevokedAt != nil) {
		err = fmt.Errorf("access token %q: %w", id, errdefs.ErrNotFound)
	}
	if err != nil {
		t.api.writeError(w, r, err)
		return
	}
	if rec.KeyID != k.ID {
		if !may(r, authz.KeysManage) {
			t.api.writeError(w, r, fmt.Errorf("access token %q was made from another key or member: revoking it needs that credential or permission %q: %w",
				id, authz.KeysManage, errdefs.ErrPermissionDenied))
			return
		}
		// A token of a revoked key, or of a membership ended, works no
		// more; any manager may revoke it for the record.
		if uid, ok := strings.CutPrefix(rec.KeyID, auth.UserKeyPrefix); ok {
			if m, err := t.st.GetMember(r.Context(), k.Team, uid); err == nil {
				if err := mayManage(k, auth.MemberKey(m)); err != nil {
					t.api.writeError(w, r, err)
					return
				}
			} else if !errors.Is(err, errdefs.ErrNotFound) {
				t.api.writeError(w, r, err)
				return
			}
		} else if owner, err := t.teamKey(r.Context(), k.Team, rec.KeyID); err == nil {
			if err := mayManage(k, owner); err != nil {
				t.api.writeError(w, r, err)
				return
			}
		} else if !errors.Is(err, errdefs.ErrNotFound) {
			t.api.writeError(w, r, err)
			return
		}
	}
	if err := t.st.RevokeAccessToken(r.Context(), k.Team, id, time.Now()); err != nil {
		t.api.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
