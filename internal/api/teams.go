package api

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/soulbox/soulbox/internal/audit"
	"github.com/soulbox/soulbox/internal/auth"
	"github.com/soulbox/soulbox/internal/authz"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/lifecycle"
	"github.com/soulbox/soulbox/internal/secrets"
	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/tenancy"
)

// TeamStore is what the team and key routes need of the store.
type TeamStore interface {
	store.Teams
	store.APIKeys
	store.Audit
	store.AccessTokens
	store.Secrets
	store.Members
	tenancy.BuildStore
	ListSandboxes(ctx context.Context, f store.SandboxFilter) ([]store.Sandbox, error)
}

// TeamsConfig is what the team routes are built from.
type TeamsConfig struct {
	Store TeamStore
	// Tokens makes access tokens; nil: POST /access-tokens answers 409.
	Tokens *auth.Tokens
	// Lifecycle kills a team's sandboxes for the admin route.
	Lifecycle *lifecycle.Manager
	// Audit, if set, is the audit log GET /audit/verify checks.
	Audit *audit.Recorder
	// DeleteTeam, if set, deletes a team for DELETE /admin/teams/{teamID}
	// (tenancy.DeleteTeam if not): the server's also holds creates off
	// and drains the team's pools.
	DeleteTeam func(ctx context.Context, id string) error
	// Secrets seals secret values; nil: creating or changing a secret
	// answers 409.
	Secrets *secrets.Sealer
	Log     *slog.Logger
}

// Teams serves the team and key routes: E2B's GET /teams, /api-keys and
// /admin/teams/{teamID}/api-keys, and SoulBox's /admin/teams and quotas.
type Teams struct {
	st     TeamStore
	tokens *auth.Tokens
	lc     *lifecycle.Manager
	audit  *audit.Recorder
	delete func(ctx context.Context, id string) error
	sealer *secrets.Sealer
	api    *API
}

// NewTeams returns the team routes.
func NewTeams(cfg TeamsConfig) *Teams {
	return &Teams{st: cfg.Store, tokens: cfg.Tokens, lc: cfg.Lifecycle, audit: cfg.Audit, delete: cfg.DeleteTeam, sealer: cfg.Secrets, api: &API{log: cfg.Log}}
}

// TeamRoutes is the permission each route of Teams.Register needs.
var TeamRoutes = authz.Routes{
	"GET /teams":                                       authz.Public,
	"GET /api-keys":                                    authz.KeysManage,
	"POST /api-keys":                                   authz.KeysManage,
	"PATCH /api-keys/{apiKeyID}":                       authz.KeysManage,
	"DELETE /api-keys/{apiKeyID}":                      authz.KeysManage,
	"POST /admin/teams":                                authz.ServerAdmin,
	"GET /admin/teams":                                 authz.ServerAdmin,
	"PATCH /admin/teams/{teamID}":                      authz.ServerAdmin,
	"DELETE /admin/teams/{teamID}":                     authz.ServerAdmin,
	"POST /admin/teams/{teamID}/api-keys":              authz.ServerAdmin,
	"DELETE /admin/teams/{teamID}/api-keys/{apiKeyID}": authz.ServerAdmin,
	"POST /admin/teams/{teamID}/sandboxes/kill":        authz.ServerAdmin,
	"GET /admin/teams/{teamID}/quota":                  authz.ServerAdmin,
	"PUT /admin/teams/{teamID}/quota":                  authz.ServerAdmin,
	"GET /admin/sandboxes/running-counts":              authz.ServerAdmin,
	"GET /quota":                                       authz.SandboxesRead,
	"/quota":                                           authz.Public,
	"POST /access-tokens":                              authz.Public,
	"DELETE /access-tokens/{accessTokenID}":            authz.Public,
	"GET /secrets":                                     authz.SecretsRead,
	"POST /secrets":                                    authz.SecretsManage,
	"GET /secrets/{secretID}":                          authz.SecretsRead,
	"PATCH /secrets/{secretID}":                        authz.SecretsManage,
	"DELETE /secrets/{secretID}":                       authz.SecretsManage,
	"/secrets":                                         authz.Public,
	"/secrets/":                                        authz.Public,
	"/access-tokens":                                   authz.Public,
	"/access-tokens/":                                  authz.Public,
	"GET /audit":                                       authz.AuditRead,
	"GET /audit/verify":                                authz.ServerAdmin,
	"/audit":                                           authz.Public,
	"/audit/":                                          authz.Public,
	"/teams":                                           authz.Public,
	"/api-keys":                                        authz.Public,
	"/api-keys/":                                       authz.Public,
	"/admin/":                                          authz.Public,
	"GET /teams/{teamID}/members":                      authz.MembersManage,
	"POST /teams/{teamID}/members":                     authz.MembersManage,
	"PATCH /teams/{teamID}/members/{userID}":           authz.MembersManage,
	"DELETE /teams/{teamID}/members/{userID}":          authz.MembersManage,
	"/teams/{teamID}/members":                          authz.Public,
	"/teams/{teamID}/members/":                         authz.Public,
}

// TeamPaths are the path prefixes the team routes are mounted on.
var TeamPaths = []string{"/teams", "/api-keys", "/api-keys/", "/admin/", "/quota", "/audit", "/audit/", "/access-tokens", "/access-tokens/", "/secrets", "/secrets/",
	"/teams/{teamID}/members", "/teams/{teamID}/members/"}

// Register adds the team routes to mux.
func (t *Teams) Register(mux Router) {
	mux.HandleFunc("GET /teams", t.listOwn)
	mux.HandleFunc("GET /api-keys", t.listKeys)
	mux.HandleFunc("POST /api-keys", t.createKey)
	mux.HandleFunc("PATCH /api-keys/{apiKeyID}", t.renameKey)
	mux.HandleFunc("DELETE /api-keys/{apiKeyID}", t.deleteKey)
	mux.HandleFunc("POST /admin/teams", t.createTeam)
	mux.HandleFunc("GET /admin/teams", t.listTeams)
	mux.HandleFunc("PATCH /admin/teams/{teamID}", t.renameTeam)
	mux.HandleFunc("DELETE /admin/teams/{teamID}", t.deleteTeam)
	mux.HandleFunc("POST /admin/teams/{teamID}/api-keys", t.adminCreateKey)
	mux.HandleFunc("DELETE /admin/teams/{teamID}/api-keys/{apiKeyID}", t.adminDeleteKey)
	mux.HandleFunc("POST /admin/teams/{teamID}/sandboxes/kill", t.killTeamSandboxes)
	mux.HandleFunc("GET /admin/teams/{teamID}/quota", t.teamQuota)
	mux.HandleFunc("PUT /admin/teams/{teamID}/quota", t.setQuota)
	mux.HandleFunc("GET /admin/sandboxes/running-counts", t.runningCounts)
	mux.HandleFunc("GET /quota", t.ownQuota)
	mux.HandleFunc("POST /access-tokens", t.createToken)
	mux.HandleFunc("DELETE /access-tokens/{accessTokenID}", t.deleteToken)
	mux.HandleFunc("GET /secrets", t.listSecrets)
	mux.HandleFunc("POST /secrets", t.createSecret)
	mux.HandleFunc("GET /secrets/{secretID}", t.getSecret)
	mux.HandleFunc("PATCH /secrets/{secretID}", t.updateSecret)
	mux.HandleFunc("DELETE /secrets/{secretID}", t.deleteSecret)
	mux.HandleFunc("GET /audit", t.listAudit)
	mux.HandleFunc("GET /audit/verify", t.verifyAudit)
	mux.HandleFunc("GET /teams/{teamID}/members", t.listMembers)
	mux.HandleFunc("POST /teams/{teamID}/members", t.addMember)
	mux.HandleFunc("PATCH /teams/{teamID}/members/{userID}", t.setMemberRole)
	mux.HandleFunc("DELETE /teams/{teamID}/members/{userID}", t.removeMember)
	for _, p := range TeamPaths {
		mux.HandleFunc(p, t.api.noRoute)
	}
}

// caller is the key of an authenticated request.
func caller(r *http.Request) (store.APIKey, error) {
	k, ok := auth.FromContext(r.Context())
	if !ok {
		return k, fmt.Errorf("this route needs an API key: %w", errdefs.ErrUnauthenticated)
	}
	return k, nil
}

// teamJSON is a team as /admin/teams shows it.
type teamJSON struct {
	TeamID    string    `json:"teamID"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"createdAt"`
	// BuiltIn marks the administrators' team, which cannot be deleted.
	BuiltIn bool `json:"builtIn"`
}

func toTeamJSON(tm store.Team) teamJSON {
	return teamJSON{TeamID: tm.ID, Name: tm.Name, CreatedAt: tm.CreatedAt, BuiltIn: tm.ID == store.AdminTeam}
}

// maskJSON is E2B's IdentifierMaskingDetails.
type maskJSON struct {
	Prefix            string `json:"prefix"`
	ValueLength       int    `json:"valueLength"`
	MaskedValuePrefix string `json:"maskedValuePrefix"`
	MaskedValueSuffix string `json:"maskedValueSuffix"`
}

// keyJSON is E2B's TeamAPIKey with SoulBox's role and scopes.
type keyJSON struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Mask      maskJSON   `json:"mask"`
	CreatedAt time.Time  `json:"createdAt"`
	CreatedBy *struct{}  `json:"createdBy"`
	LastUsed  *time.Time `json:"lastUsed"`
	TeamID    string     `json:"teamID"`
	Role      string     `json:"role"`
	Scopes    []string   `json:"scopes"`
}

// createdKeyJSON is E2B's CreatedTeamAPIKey: the key, shown once.
type createdKeyJSON struct {
	keyJSON
	Key string `json:"key"`
}

func toKeyJSON(k store.APIKey) keyJSON {
	scopes := k.Scopes
	if scopes == nil {
		scopes = []string{}
	}
	m := maskJSON{Prefix: "e2b_", ValueLength: 40}
	if len(k.Prefix) > len(m.Prefix) {
		m.MaskedValuePrefix = k.Prefix[len(m.Prefix):]
	}
	return keyJSON{ID: k.ID, Name: k.Name, Mask: m, CreatedAt: k.CreatedAt, LastUsed: k.LastUsedAt,
		TeamID: k.Team, Role: string(k.Role), Scopes: scopes}
}

// newKeyBody is E2B's NewTeamAPIKey with SoulBox's role and scopes.
type newKeyBody struct {
	Name   string   `json:"name"`
	Role   string   `json:"role"`
	Scopes []string `json:"scopes"`
}

// check validates the body of a new key; role defaults to def.
func (b *newKeyBody) check(def store.Role) error {
	if b.Name == "" {
		return fmt.Errorf("name: required: %w", errdefs.ErrInvalidArgument)
	}
	if b.Role == "" {
		b.Role = string(def)
	}
	if !store.Role(b.Role).Valid() {
		return fmt.Errorf("role %q: want one of owner, admin, developer, viewer: %w", b.Role, errdefs.ErrInvalidArgument)
	}
	for _, s := range b.Scopes {
		if !authz.ValidScope(s) {
			return fmt.Errorf("scope %q: want some of %v: %w", s, authz.Scopes(), errdefs.ErrInvalidArgument)
		}
	}
	slices.Sort(b.Scopes)
	b.Scopes = slices.Compact(b.Scopes)
	return nil
}

// issue makes the key b describes for team and answers 201 with it.
func (t *Teams) issue(w http.ResponseWriter, r *http.Request, team string, b newKeyBody) {
	key, k, err := auth.Issue(r.Context(), t.st, store.APIKey{Name: b.Name, Team: team, Role: store.Role(b.Role), Scopes: b.Scopes})
	if err != nil {
		t.api.writeError(w, r, err)
		return
	}
	out := createdKeyJSON{keyJSON: toKeyJSON(k), Key: key}
	out.Mask.MaskedValueSuffix = key[len(key)-4:]
	writeJSON(w, http.StatusCreated, out)
}

// teamKey returns the live key id of team (ErrNotFound otherwise: a key
// of another team is not found).
func (t *Teams) teamKey(ctx context.Context, team, id string) (store.APIKey, error) {
	keys, err := t.st.ListTeamAPIKeys(ctx, team)
	if err != nil {
		return store.APIKey{}, err
	}
	for _, k := range keys {
		if k.ID == id && k.RevokedAt == nil {
			return k, nil
		}
	}
	return store.APIKey{}, fmt.Errorf("api key %q: %w", id, errdefs.ErrNotFound)
}
