package store

import (
	"context"
	"fmt"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// AccessToken is the record of an access token the server issued: not
// the token (a signed JWT the server can check without a record), but
// its id (the JWT's jti), so that one token can be revoked before it
// expires. The record is kept until the token expires; a swept record's
// token is expired anyway.
type AccessToken struct {
	// ID is the token's jti.
	ID string
	// Team and KeyID are the team and the API key the token stands for.
	Team  string
	KeyID string
	Name  string
	// CreatedAt is when the token was issued, ExpiresAt when it stops
	// working.
	CreatedAt time.Time
	ExpiresAt time.Time
	// RevokedAt is when the token was revoked; nil while it works.
	RevokedAt *time.Time
}

// AccessTokens stores the records of issued access tokens.
type AccessTokens interface {
	// CreateAccessToken records an issued token; a duplicate id is
	// ErrAlreadyExists.
	CreateAccessToken(ctx context.Context, t AccessToken) error
	// GetAccessToken returns a token's record, revoked or not
	// (ErrNotFound if unknown or swept).
	GetAccessToken(ctx context.Context, id string) (AccessToken, error)
	// RevokeAccessToken revokes a token of team at at: the token of
	// another team is ErrNotFound, as an unknown one; a revoked one is
	// ErrFailedPrecondition and stays as it was.
	RevokeAccessToken(ctx context.Context, team, id string, at time.Time) error
	// PruneAccessTokens deletes the records of tokens that expired
	// before before, revoked or not, and returns how many.
	PruneAccessTokens(ctx context.Context, before time.Time) (int, error)
}

// ValidateAccessToken checks a token's record before it is stored.
func ValidateAccessToken(t AccessToken) error {
	if t.ID == "" || t.Team == "" || t.KeyID == "" || t.ExpiresAt.IsZero() {
		return fmt.Errorf("access token: id, team, key and expiry are required: %w", errdefs.ErrInvalidArgument)
	}
	if t.RevokedAt != nil {
		return fmt.Errorf("access token %q: a new token cannot be revoked: %w", t.ID, errdefs.ErrInvalidArgument)
	}
	return validateTexts([2]string{"access token id", t.ID}, [2]string{"team", t.Team}, [2]string{"api key id", t.KeyID},
		[2]string{"access token name", t.Name})
}
