package api

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/soulbox/soulbox/internal/auth"
	"github.com/soulbox/soulbox/internal/authz"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
)

// memberJSON is E2B's TeamUser {id, email} with SoulBox's role in the
// team.
type memberJSON struct {
	ID      string    `json:"id"`
	Email   string    `json:"email"`
	TeamID  string    `json:"teamID"`
	Role    string    `json:"role"`
	AddedAt time.Time `json:"addedAt"`
}

func toMemberJSON(m store.Member) memberJSON {
	return memberJSON{ID: m.UserID, Email: m.Email, TeamID: m.Team, Role: string(m.Role), AddedAt: m.AddedAt}
}

// memberCaller is who manages a team's members: the caller's key and
// whether it acts as a server admin on another team (then the role
// ranks of its own team do not apply).
type memberCaller struct {
	key   store.APIKey
	admin bool
	// keyToken: the key came as an access token made from it (not a
	// member's token).
	keyToken bool
}

// memberTeam returns the team {teamID} names if the caller may manage
// its members: its own team, or any team for a server admin. Another
// team is not found, as one that does not exist.
func (t *Teams) memberTeam(r *http.Request) (string, memberCaller, error) {
	k, err := caller(r)
	if err != nil {
		return "", memberCaller{}, err
	}
	team := r.PathValue("teamID")
	c := memberCaller{key: k, keyToken: auth.ViaToken(r.Context()) && k.User == ""}
	if team != k.Team {
		if !authz.Allowed(k, authz.ServerAdmin) {
			return "", c, fmt.Errorf("team %q: %w", team, errdefs.ErrNotFound)
		}
		c.admin = true
	}
	if _, err := t.st.GetTeam(r.Context(), team); err != nil {
		return "", c, err
	}
	return team, c, nil
}

// mayGrant returns nil if c may give a member role: nobody hands out
// more than they have.
func (c memberCaller) mayGrant(role store.Role) error {
	if c.admin || authz.Outranks(c.key.Role, role) {
		return nil
	}
	return fmt.Errorf("role %q outranks the caller's role %q: %w", role, c.key.Role, errdefs.ErrPermissionDenied)
}

// mayManage returns nil if c may change or remove member m: only an
// owner manages an owner.
func (c memberCaller) mayManage(m store.Member) error {
	if c.admin || authz.Outranks(c.key.Role, m.Role) {
		return nil
	}
	return fmt.Errorf("member %s is %s, which outranks the caller's role %q: %w", m.Email, m.Role, c.key.Role, errdefs.ErrPermissionDenied)
}

// parseRole checks a role named in a body.
func parseRole(s string) (store.Role, error) {
	if !store.Role(s).Valid() {
		return "", fmt.Errorf("role %q: want one of owner, admin, developer, viewer: %w", s, errdefs.ErrInvalidArgument)
	}
	return store.Role(s), nil
}

// teamMember returns member userID of team (ErrNotFound if none).
func (t *Teams) teamMember(ctx context.Context, team, userID string) (store.Member, error) {
	return t.st.GetMember(ctx, team, userID)
}
