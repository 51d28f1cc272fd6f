package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// User is a person who signs in (through OIDC) rather than presenting a
// key. What a user may do comes from their memberships: a user in no
// team can do nothing.
type User struct {
	// ID is a UUID.
	ID string
	// Email is unique among users, kept as NormalizeEmail returns it.
	Email string
	// CreatedAt is when the user was recorded.
	CreatedAt time.Time
	// Subject is the OIDC issuer's id of the user (its ID tokens' sub),
	// bound at their first sign-in (BindUserSubject); empty before.
	// CreateUser ignores it.
	Subject string
}

// Member is a user's role in a team.
type Member struct {
	Team   string
	UserID string
	// Email is the user's, filled in by reads; ignored by AddMember.
	Email string
	// Role is the member's role, with the same rights a key of that
	// role has.
	Role Role
	// AddedAt is when the user joined the team.
	AddedAt time.Time
}

// Members stores users and their memberships in teams.
type Members interface {
	// CreateUser stores a user; a duplicate id or email is
	// ErrAlreadyExists.
	CreateUser(ctx context.Context, u User) error
	// GetUser returns a user (ErrNotFound if unknown).
	GetUser(ctx context.Context, id string) (User, error)
	// UserByEmail returns the user with the email, compared as
	// NormalizeEmail returns it (ErrNotFound if unknown).
	UserByEmail(ctx context.Context, email string) (User, error)
	// BindUserSubject binds the user to the OIDC issuer's subject at
	// their first sign-in: it records subject if the user has none, does
	// nothing if it is theirs already, and is ErrFailedPrecondition,
	// changing nothing, if another subject is bound (ErrNotFound for an
	// unknown user).
	BindUserSubject(ctx context.Context, userID, subject string) error
	// AddMember makes a user a member of a team with a role. An unknown
	// team or user is ErrNotFound; a member already is ErrAlreadyExists.
	AddMember(ctx context.Context, m Member) error
	// GetMember returns a user's membership of a team (ErrNotFound if
	// none).
	GetMember(ctx context.Context, team, userID string) (Member, error)
	// ListMembers returns a team's members by AddedAt, then user id.
	ListMembers(ctx context.Context, team string) ([]Member, error)
	// ListUserTeams returns a user's memberships by AddedAt, then team.
	ListUserTeams(ctx context.Context, userID string) ([]Member, error)
	// SetMemberRole changes a member's role from from to role
	// (ErrNotFound if not a member). The member's role is compared with
	// from in the transaction that changes it: another role (changed
	// since the caller read it, and checked its rank against it) is
	// ErrFailedPrecondition and changes nothing; from "" takes any.
	// Demoting the team's last owner member is ErrFailedPrecondition and
	// changes nothing.
	SetMemberRole(ctx context.Context, team, userID string, from, role Role) error
	// RemoveMember ends a membership (ErrNotFound if none) and, in the
	// same transaction, revokes the open records of the member's access
	// tokens of that team (KeyID MemberKeyPrefix+userID), so that none
	// works again should the user be added back. Removing the team's
	// last owner member is ErrFailedPrecondition and changes nothing.
	// Deleting a team ends all its memberships.
	//
	// from is the role the caller read, compared in the transaction as
	// SetMemberRole does ("" takes any).
	RemoveMember(ctx context.Context, team, userID string, from Role) error
}

// MemberKeyPrefix starts the key id a member's access token is recorded
// under (store.AccessToken.KeyID): "user:" and the user's id, which no
// API key id looks like.
const MemberKeyPrefix = "user:"

// MaxEmailLen bounds an email address (RFC 5321's path limit).
const MaxEmailLen = 254

// NormalizeEmail returns email trimmed and lowercased if it looks like an
// address (one @, something on each side, no spaces), or an
// ErrInvalidArgument error.
func NormalizeEmail(email string) (string, error) {
	e := strings.ToLower(strings.TrimSpace(email))
	local, domain, ok := strings.Cut(e, "@")
	if !ok || local == "" || domain == "" || strings.Contains(domain, "@") || strings.ContainsAny(e, " \t\r\n") || len(e) > MaxEmailLen {
		return "", fmt.Errorf("email %q: want an address like name@example.com, at most %d characters: %w", trimForMessage(email), MaxEmailLen, errdefs.ErrInvalidArgument)
	}
	if err := ValidateText("email", e); err != nil {
		return "", err
	}
	return e, nil
}

// trimForMessage keeps an echoed input short.
func trimForMessage(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// ValidateUser checks a user before it is stored; its email must already
// be normalized.
func ValidateUser(u User) error {
	if u.ID == "" {
		return fmt.Errorf("user: id is required: %w", errdefs.ErrInvalidArgument)
	}
	if err := ValidateText("user id", u.ID); err != nil {
		return err
	}
	e, err := NormalizeEmail(u.Email)
	if err != nil {
		return err
	}
	if e != u.Email {
		return fmt.Errorf("user %q: email %q is not normalized (want %q): %w", u.ID, u.Email, e, errdefs.ErrInvalidArgument)
	}
	return nil
}

// ValidateMember checks a membership before it is stored.
func ValidateMember(m Member) error {
	if m.Team == "" || m.UserID == "" {
		return fmt.Errorf("member: team and user id are required: %w", errdefs.ErrInvalidArgument)
	}
	if err := validateTexts([2]string{"team", m.Team}, [2]string{"user id", m.UserID}); err != nil {
		return err
	}
	if !m.Role.Valid() {
		return fmt.Errorf("member %q: unknown role %q: want one of owner, admin, developer, viewer: %w", m.UserID, m.Role, errdefs.ErrInvalidArgument)
	}
	return nil
}
