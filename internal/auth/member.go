package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
)

// UserKeyPrefix starts the ID of the key a member's access token stands
// for: "user:" and the user's id.
const UserKeyPrefix = store.MemberKeyPrefix

// memberClockSkew is how much earlier than its membership began a
// member's token may say it was issued: the server that signed it and
// the one that recorded the membership may not share a clock.
const memberClockSkew = time.Minute

// member returns the key a member's access token stands for while the
// user is a member of the token's team, with the role the member has
// now: a membership removed, or its team deleted, refuses the token at
// its next request, as a revoked key's, and so does revoking the token
// (its record, written at sign-in).
func (a *Authenticator) member(ctx context.Context, c tokenClaims) (store.APIKey, error) {
	if a.Members == nil {
		return store.APIKey{}, fmt.Errorf("members' access tokens are not accepted by this server: %w", errdefs.ErrUnauthenticated)
	}
	m, err := a.Members.GetMember(ctx, c.Team, c.User)
	if errors.Is(err, errdefs.ErrNotFound) {
		return store.APIKey{}, fmt.Errorf("access token of user %s: they are no longer a member of team %q: %w", c.Email, c.Team, errdefs.ErrUnauthenticated)
	}
	if err != nil {
		return store.APIKey{}, fmt.Errorf("look up member: %w", err)
	}
	// A token issued before this membership began is of an earlier one,
	// ended since: the user being added back does not revive it (ending
	// the membership revoked its record too; this also covers a token
	// signed while the membership was being removed). JWT times have
	// whole seconds, and replicas' clocks may differ by some.
	if c.IssuedAt == nil || c.IssuedAt.Time.Before(m.AddedAt.Add(-memberClockSkew).Truncate(time.Second)) {
		return store.APIKey{}, fmt.Errorf("access token of user %s was issued before their current membership of team %q began: sign in again: %w", c.Email, c.Team, errdefs.ErrUnauthenticated)
	}
	if a.Issued != nil {
		if err := a.issued(ctx, c, UserKeyPrefix+c.User); err != nil {
			return store.APIKey{}, err
		}
	}
	return MemberKey(m), nil
}

// MemberKey is the key a member's credential stands for: the member's
// team and role, the user's id (and "user:" before it as the key's ID)
// and email (as its Prefix).
func MemberKey(m store.Member) store.APIKey {
	return store.APIKey{ID: UserKeyPrefix + m.UserID, Name: m.Email, Prefix: m.Email, Team: m.Team, Role: m.Role, User: m.UserID}
}
