package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/google/uuid"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
)

// newMemberBody is the body of POST /teams/{teamID}/members.
type newMemberBody struct {
	Email string `json:"email"`
	// Role defaults to developer.
	Role string `json:"role"`
}

// addMember is POST /teams/{teamID}/members: the user with the email
// (recorded now if no user has it) becomes a member with the role, 201
// with the member. The role may not outrank the caller's, and a key
// limited to scopes, or an access token made from a key, adds no one.
func (t *Teams) addMember(w http.ResponseWriter, r *http.Request) {
	team, c, err := t.memberTeam(r)
	if err != nil {
		t.api.writeError(w, r, err)
		return
	}
	var b newMemberBody
	if err := decodeStrictBody(r.Body, &b); err != nil {
		t.api.writeError(w, r, err)
		return
	}
	if b.Role == "" {
		b.Role = string(store.RoleDeveloper)
	}
	role, err := parseRole(b.Role)
	if err == nil {
		b.Email, err = store.NormalizeEmail(b.Email)
	}
	if err == nil {
		err = c.mayGrant(role)
	}
	if err == nil {
		err = c.mayGrantMembership("", role)
	}
	if err != nil {
		t.api.writeError(w, r, err)
		return
	}
	u, err := t.userFor(r.Context(), b.Email)
	if err != nil {
		t.api.writeError(w, r, err)
		return
	}
	if err := t.st.AddMember(r.Context(), store.Member{Team: team, UserID: u.ID, Role: role}); err != nil {
		if errors.Is(err, errdefs.ErrAlreadyExists) {
			err = fmt.Errorf("%s is already a member of team %q: change their role with PATCH /teams/%s/members/%s: %w", u.Email, team, team, u.ID, errdefs.ErrAlreadyExists)
		}
		t.api.writeError(w, r, err)
		return
	}
	m, err := t.st.GetMember(r.Context(), team, u.ID)
	if err != nil {
		t.api.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, toMemberJSON(m))
}

// userFor returns the user with email, recording one if there is none.
// A user is only ever recorded by an owner or admin adding them: signing
// in makes no users.
func (t *Teams) userFor(ctx context.Context, email string) (store.User, error) {
	u, err := t.st.UserByEmail(ctx, email)
	if !errors.Is(err, errdefs.ErrNotFound) {
		return u, err
	}
	u = store.User{ID: uuid.NewString(), Email: email}
	err = t.st.CreateUser(ctx, u)
	if errors.Is(err, errdefs.ErrAlreadyExists) {
		// Recorded at the same time by another call.
		return t.st.UserByEmail(ctx, email)
	}
	return u, err
}
