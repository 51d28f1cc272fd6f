package api

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/soulbox/soulbox/internal/audit"
	"github.com/soulbox/soulbox/internal/auth"
	"github.com/soulbox/soulbox/internal/authz"
	"github.com/soulbox/soulbox/internal/signin"
	"github.com/soulbox/soulbox/internal/store"
)

// SignInStore is what sign-in needs of the store.
type SignInStore interface {
	UserByEmail(ctx context.Context, email string) (store.User, error)
	GetMember(ctx context.Context, team, userID string) (store.Member, error)
	ListUserTeams(ctx context.Context, userID string) ([]store.Member, error)
	// CreateAccessToken records each member's token issued, which is
	// what lets it be revoked.
	CreateAccessToken(ctx context.Context, t store.AccessToken) error
	// BindUserSubject binds a user to the issuer's account at their
	// first sign-in.
	BindUserSubject(ctx context.Context, userID, subject string) error
}

// SignInConfig is what the sign-in routes are built from.
type SignInConfig struct {
	// Verifier checks ID tokens; nil: OIDC sign-in is off.
	Verifier *signin.Verifier
	Store    SignInStore
	// Tokens makes the members' access tokens.
	Tokens *auth.Tokens
	// Audit records every sign-in, and every refusal as a refused
	// credential.
	Audit *audit.Recorder
	// Gate, if set, is asked first whether the client's address may try
	// (refusals per address, as for keys); when not, it has answered.
	Gate func(w http.ResponseWriter, r *http.Request) bool
	Log  *slog.Logger
}

// SignIn serves SoulBox's sign-in routes, which need no API key: they
// are how a member without one gets an access token.
type SignIn struct {
	cfg SignInConfig
	api *API
}

// NewSignIn returns the sign-in routes.
func NewSignIn(cfg SignInConfig) *SignIn { return &SignIn{cfg: cfg, api: &API{log: cfg.Log}} }

// SignInRoutes is the permission each route of SignIn.Register needs:
// none, the routes check their own credential.
var SignInRoutes = authz.Routes{
	"GET /auth/oidc":        authz.Public,
	"POST /auth/oidc/token": authz.Public,
	"/auth/":                authz.Public,
}

// SignInPaths are the path prefixes the sign-in routes are mounted on.
var SignInPaths = []string{"/auth/"}

// Register adds the sign-in routes to mux.
func (s *SignIn) Register(mux Router) {
	mux.HandleFunc("GET /auth/oidc", s.oidcConfig)
	mux.HandleFunc("POST /auth/oidc/token", s.oidcToken)
	mux.HandleFunc("/auth/", s.api.noRoute)
}
