package api

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/soulbox/soulbox/internal/authz"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
)

// NodeTokenIssuer makes, lists and revokes node join tokens.
type NodeTokenIssuer interface {
	CreateToken(ctx context.Context, ttl time.Duration) (string, store.NodeToken, error)
	ListTokens(ctx context.Context) ([]store.NodeToken, error)
	RevokeToken(ctx context.Context, id string) error
}

// NodeTokens serves the node join token routes, a SoulBox extension for
// server admins: POST, GET /admin/node-tokens and DELETE
// /admin/node-tokens/{tokenID}.
type NodeTokens struct {
	issuer NodeTokenIssuer
	api    *API
}

// NewNodeTokens returns the node token routes.
func NewNodeTokens(issuer NodeTokenIssuer, log *slog.Logger) *NodeTokens {
	return &NodeTokens{issuer: issuer, api: &API{log: log}}
}

// NodeTokenRoutes is the permission each route of NodeTokens.Register
// needs.
var NodeTokenRoutes = authz.Routes{
	"POST /admin/node-tokens":             authz.ServerAdmin,
	"GET /admin/node-tokens":              authz.ServerAdmin,
	"DELETE /admin/node-tokens/{tokenID}": authz.ServerAdmin,
}

// Register adds the routes to mux.
func (t *NodeTokens) Register(mux Router) {
	mux.HandleFunc("POST /admin/node-tokens", t.create)
	mux.HandleFunc("GET /admin/node-tokens", t.list)
	mux.HandleFunc("DELETE /admin/node-tokens/{tokenID}", t.revoke)
}

// nodeTokenJSON is a join token; Token is set only in the answer that
// made it.
type nodeTokenJSON struct {
	ID        string     `json:"id"`
	Token     string     `json:"token,omitempty"`
	CreatedAt time.Time  `json:"createdAt"`
	ExpiresAt time.Time  `json:"expiresAt"`
	UsedAt    *time.Time `json:"usedAt,omitempty"`
	UsedBy    string     `json:"usedBy,omitempty"`
	RevokedAt *time.Time `json:"revokedAt,omitempty"`
}

func toNodeToken(tk store.NodeToken) nodeTokenJSON {
	return nodeTokenJSON{ID: tk.ID, CreatedAt: tk.CreatedAt, ExpiresAt: tk.ExpiresAt, UsedAt: tk.UsedAt, UsedBy: tk.UsedBy, RevokedAt: tk.RevokedAt}
}

type nodeTokenBody struct {
	// TTL is the token's lifetime in seconds (default an hour).
	TTL *int64 `json:"ttl"`
}

func (t *NodeTokens) create(w http.ResponseWriter, r *http.Request) {
	var b nodeTokenBody
	if err := decodeStrictBody(r.Body, &b); err != nil {
		t.api.writeError(w, r, err)
		return
	}
	var ttl time.Duration
	if b.TTL != nil {
		if *b.TTL <= 0 || *b.TTL > int64(7*24*3600) {
			t.api.writeError(w, r, fmt.Errorf("ttl %d: want 60 to 604800 seconds: %w", *b.TTL, errdefs.ErrInvalidArgument))
			return
		}
		ttl = time.Duration(*b.TTL) * time.Second
	}
	secret, tk, err := t.issuer.CreateToken(r.Context(), ttl)
	if err != nil {
		t.api.writeError(w, r, err)
		return
	}
	out := toNodeToken(tk)
	out.Token = secret
	writeJSON(w, http.StatusCreated, out)
}

func (t *NodeTokens) list(w http.ResponseWriter, r *http.Request) {
	tks, err := t.issuer.ListTokens(r.Context())
	if err != nil {
		t.api.writeError(w, r, err)
		return
	}
	out := make([]nodeTokenJSON, 0, len(tks))
	for _, tk := range tks {
		out = append(out, toNodeToken(tk))
	}
	writeJSON(w, http.StatusOK, out)
}

func (t *NodeTokens) revoke(w http.ResponseWriter, r *http.Request) {
	if err := t.issuer.RevokeToken(r.Context(), r.PathValue("tokenID")); err != nil {
		t.api.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
