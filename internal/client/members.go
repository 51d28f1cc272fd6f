package client

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"
)

// Member is a user's role in a team (GET /teams/{teamID}/members).
type Member struct {
	ID      string    `json:"id"`
	Email   string    `json:"email"`
	TeamID  string    `json:"teamID"`
	Role    string    `json:"role"`
	AddedAt time.Time `json:"addedAt"`
}

// OwnTeam returns the id of the team of the client's key or token
// (E2B's GET /teams).
func (c *Client) OwnTeam(ctx context.Context) (string, error) {
	var teams []struct {
		TeamID string `json:"teamID"`
	}
	if err := c.call(ctx, http.MethodGet, "/teams", nil, &teams, http.StatusOK, false); err != nil {
		return "", err
	}
	if len(teams) == 0 {
		return "", errors.New("GET /teams: no team")
	}
	return teams[0].TeamID, nil
}

func membersPath(team string) string { return "/teams/" + url.PathEscape(team) + "/members" }

// ListMembers returns the members of team.
func (c *Client) ListMembers(ctx context.Context, team string) ([]Member, error) {
	var out []Member
	err := c.call(ctx, http.MethodGet, membersPath(team), nil, &out, http.StatusOK, false)
	return out, err
}

// AddMember makes the user with email a member of team with role
// (developer if empty).
func (c *Client) AddMember(ctx context.Context, team, email, role string) (Member, error) {
	var out Member
	in := map[string]string{"email": email}
	if role != "" {
		in["role"] = role
	}
	err := c.call(ctx, http.MethodPost, membersPath(team), in, &out, http.StatusCreated, false)
	return out, err
}

// SetMemberRole changes the role of member userID of team.
func (c *Client) SetMemberRole(ctx context.Context, team, userID, role string) (Member, error) {
	var out Member
	err := c.call(ctx, http.MethodPatch, membersPath(team)+"/"+url.PathEscape(userID), map[string]string{"role": role}, &out, http.StatusOK, false)
	return out, err
}

// RemoveMember ends the membership of userID in team.
func (c *Client) RemoveMember(ctx context.Context, team, userID string) error {
	return c.call(ctx, http.MethodDelete, membersPath(team)+"/"+url.PathEscape(userID), nil, nil, http.StatusNoContent, false)
}
