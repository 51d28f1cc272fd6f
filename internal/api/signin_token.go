package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/soulbox/soulbox/internal/auth"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/httperr"
	"github.com/soulbox/soulbox/internal/store"
)

// oidcTokenBody is the body of POST /auth/oidc/token.
type oidcTokenBody struct {
	// IDToken is the ID token the issuer gave at sign-in.
	IDToken string `json:"idToken"`
	// TeamID picks the team when the user is a member of several.
	TeamID string `json:"teamID"`
	// TTLSeconds is the access token's lifetime: 0 is 15 minutes, at
	// most a day.
	TTLSeconds int64 `json:"ttlSeconds"`
}

// memberTokenJSON is the access token a member signed in for.
type memberTokenJSON struct {
	// ID is the token's id, for DELETE /access-tokens/{id}.
	ID        string    `json:"id"`
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expiresAt"`
	TeamID    string    `json:"teamID"`
	UserID    string    `json:"userID"`
	Email     string    `json:"email"`
	Role      string    `json:"role"`
}

// signInAction is the audit action of a sign-in.
const signInAction = "POST /auth/oidc/token"

// oidcToken is POST /auth/oidc/token: an ID token of the configured
// issuer for a SoulBox access token of the user's team with the
// member's role (201). A token that fails a check is 401, a user who is
// not a member (or not of teamID) 403, each saying why; nothing is
// changed, and the refusal is recorded as a refused credential.
func (s *SignIn) oidcToken(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Gate != nil && !s.cfg.Gate(w, r) {
		return
	}
	m, tok, exp, err := s.exchange(r)
	if err != nil {
		s.refuse(w, r, err)
		return
	}
	_ = s.cfg.Audit.Record(r.Context(), store.AuditEntry{Action: signInAction, Target: r.URL.Path, Remote: r.RemoteAddr,
		Team: m.Team, KeyID: auth.UserKeyPrefix + m.UserID, KeyPrefix: m.Email, Status: http.StatusCreated})
	id, _ := auth.TokenID(tok)
	writeJSON(w, http.StatusCreated, memberTokenJSON{ID: id, Token: tok, ExpiresAt: exp, TeamID: m.Team, UserID: m.UserID, Email: m.Email, Role: string(m.Role)})
}

// refuse answers err and records it: a refused credential as one (per
// address, as refused keys), anything else as an entry of its own.
func (s *SignIn) refuse(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, errdefs.ErrUnauthenticated) || errors.Is(err, errdefs.ErrPermissionDenied) {
		s.cfg.Audit.AuthFailure(r, err)
	} else {
		status, msg, _ := httperr.Resolve(err)
		_ = s.cfg.Audit.Record(r.Context(), store.AuditEntry{Action: signInAction, Target: r.URL.Path, Remote: r.RemoteAddr,
			Status: status, Message: msg})
	}
	s.api.writeError(w, r, err)
}

// exchange checks the request and returns the membership signed in for
// and its access token.
func (s *SignIn) exchange(r *http.Request) (store.Member, string, time.Time, error) {
	var none store.Member
	if s.cfg.Verifier == nil || s.cfg.Tokens == nil {
		return none, "", time.Time{}, fmt.Errorf("OIDC sign-in is not configured on this server (soulbox server --oidc-issuer, --oidc-client-id): %w", errdefs.ErrFailedPrecondition)
	}
	var b oidcTokenBody
	if err := decodeStrictBody(r.Body, &b); err != nil {
		return none, "", time.Time{}, err
	}
	if b.TTLSeconds < 0 || b.TTLSeconds > int64(auth.MaxTokenTTL/time.Second) {
		return none, "", time.Time{}, fmt.Errorf("ttlSeconds %d: use 1 to %d (0: 15 minutes): %w", b.TTLSeconds, int64(auth.MaxTokenTTL/time.Second), errdefs.ErrInvalidArgument)
	}
	ctx := r.Context()
	id, err := s.cfg.Verifier.Verify(ctx, b.IDToken)
	if err != nil {
		return none, "", time.Time{}, err
	}
	u, err := s.cfg.Store.UserByEmail(r.Context(), id.Email)
	if errors.Is(err, errdefs.ErrNotFound) {
		return none, "", time.Time{}, fmt.Errorf("%s is not a SoulBox user: an owner or admin of your team adds you (POST /teams/{teamID}/members, soulbox members add): %w", id.Email, errdefs.ErrPermissionDenied)
	}
	if err != nil {
		return none, "", time.Time{}, err
	}
	m, err := s.membership(ctx, u, b.TeamID)
	if err != nil {
		return none, "", time.Time{}, err
	}
	// The email only finds the user: the issuer's account (sub) that
	// first signed in as them is the one that may from then on, so an
	// address that passes to another account (reissued, or an issuer
	// that lets users set it) does not take the user with it.
	if u.Subject != "" && u.Subject != id.Subject {
		return none, "", time.Time{}, fmt.Errorf("%s: %w", anotherAccount(u.Email), errdefs.ErrPermissionDenied)
	}
	if u.Subject == "" {
		if err := s.cfg.Store.BindUserSubject(ctx, u.ID, id.Subject); errors.Is(err, errdefs.ErrFailedPrecondition) {
			return none, "", time.Time{}, fmt.Errorf("%s: %w", anotherAccount(u.Email), errdefs.ErrPermissionDenied)
		} else if err != nil {
			return none, "", time.Time{}, err
		}
	}
	tok, exp, err := s.cfg.Tokens.IssueMember(m, time.Duration(b.TTLSeconds)*time.Second)
	if err != nil {
		return none, "", time.Time{}, err
	}
	// As for a key's token: the record is what lets the token be
	// revoked (by the member, or when the membership ends), and a token
	// without one is refused, so it is durable before it is handed out.
	jti, _ := auth.TokenID(tok)
	if err := s.cfg.Store.CreateAccessToken(ctx, store.AccessToken{ID: jti, Team: m.Team, KeyID: auth.UserKeyPrefix + m.UserID,
		Name: m.Email, CreatedAt: time.Now().UTC(), ExpiresAt: exp}); err != nil {
		return none, "", time.Time{}, err
	}
	return m, tok, exp, nil
}

// membership returns u's membership of team, or of their only team when
// team is empty.
func (s *SignIn) membership(ctx context.Context, u store.User, team string) (store.Member, error) {
	if team != "" {
		m, err := s.cfg.Store.GetMember(ctx, team, u.ID)
		if errors.Is(err, errdefs.ErrNotFound) || errors.Is(err, errdefs.ErrInvalidArgument) {
			return m, fmt.Errorf("%s is not a member of team %q: ask one of its owners or admins to add you: %w", u.Email, team, errdefs.ErrPermissionDenied)
		}
		return m, err
	}
	ms, err := s.cfg.Store.ListUserTeams(ctx, u.ID)
	if err != nil {
		return store.Member{}, err
	}
	switch len(ms) {
	case 0:
		return store.Member{}, fmt.Errorf("%s is a member of no team: ask an owner or admin of your team to add you: %w", u.Email, errdefs.ErrPermissionDenied)
	case 1:
		return ms[0], nil
	}
	teams := make([]string, len(ms))
	for i, m := range ms {
		teams[i] = m.Team
	}
	return store.Member{}, fmt.Errorf("%s is a member of teams %s: name one in teamID: %w", u.Email, strings.Join(teams, ", "), errdefs.ErrInvalidArgument)
}

// anotherAccount says why a sign-in as email from an account of the
// issuer other than the user's is refused.
func anotherAccount(email string) string {
	return fmt.Sprintf("%s signed in before with another account of the OIDC issuer (another sub): sign in with that account", email)
}
