package client

import (
	"context"
	"net/http"
	"time"
)

// OIDCConfig is how members sign in to the server (GET /auth/oidc).
type OIDCConfig struct {
	Issuer                      string `json:"issuer"`
	ClientID                    string `json:"clientID"`
	DeviceAuthorizationEndpoint string `json:"deviceAuthorizationEndpoint"`
	TokenEndpoint               string `json:"tokenEndpoint"`
}

// MemberToken is a member's access token (POST /auth/oidc/token).
type MemberToken struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expiresAt"`
	TeamID    string    `json:"teamID"`
	UserID    string    `json:"userID"`
	Email     string    `json:"email"`
	Role      string    `json:"role"`
}

// OIDC returns the server's OIDC sign-in configuration; no key needed.
func (c *Client) OIDC(ctx context.Context) (OIDCConfig, error) {
	var out OIDCConfig
	err := c.call(ctx, http.MethodGet, "/auth/oidc", nil, &out, http.StatusOK, true)
	return out, err
}

// ExchangeIDToken exchanges an ID token of the server's issuer for a
// member's access token of team (their only team if empty), valid for
// ttl (15 minutes if 0); no key needed.
func (c *Client) ExchangeIDToken(ctx context.Context, idToken, team string, ttl time.Duration) (MemberToken, error) {
	var out MemberToken
	in := map[string]any{"idToken": idToken, "teamID": team, "ttlSeconds": int64(ttl / time.Second)}
	err := c.call(ctx, http.MethodPost, "/auth/oidc/token", in, &out, http.StatusCreated, true)
	return out, err
}
