package api

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/soulbox/soulbox/internal/auth"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/logx"
	"github.com/soulbox/soulbox/internal/store"
)

// newTokenBody is E2B's NewAccessToken with SoulBox's lifetime.
type newTokenBody struct {
	Name string `json:"name"`
	// TTLSeconds is the token's lifetime: 0 is 15 minutes, at most a day.
	TTLSeconds int64 `json:"ttlSeconds"`
}

// tokenJSON is E2B's CreatedAccessToken with when the token expires.
type tokenJSON struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Token     string    `json:"token"`
	Mask      maskJSON  `json:"mask"`
	CreatedAt time.Time `json:"createdAt"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// createToken is E2B's POST /access-tokens: a short-lived token standing
// for the calling key, for `Authorization: Bearer`. It needs the key
// itself: a token cannot make tokens, so none outlives its lifetime.
func (t *Teams) createToken(w http.ResponseWriter, r *http.Request) {
	k, err := caller(r)
	if err != nil {
		t.api.writeError(w, r, err)
		return
	}
	if t.tokens == nil {
		t.api.writeError(w, r, fmt.Errorf("access tokens are off on this server: %w", errdefs.ErrFailedPrecondition))
		return
	}
	if auth.ViaToken(r.Context()) {
		t.api.writeError(w, r, fmt.Errorf("an access token cannot make access tokens: use the API key: %w", errdefs.ErrPermissionDenied))
		return
	}
	var b newTokenBody
	if err := decodeStrictBody(r.Body, &b); err != nil {
		t.api.writeError(w, r, err)
		return
	}
	if b.TTLSeconds < 0 || b.TTLSeconds > int64(auth.MaxTokenTTL/time.Second) {
		t.api.writeError(w, r, fmt.Errorf("ttlSeconds %d: use 1 to %d (0: 15 minutes): %w", b.TTLSeconds, int64(auth.MaxTokenTTL/time.Second), errdefs.ErrInvalidArgument))
		return
	}
	tok, exp, err := t.tokens.Issue(k, time.Duration(b.TTLSeconds)*time.Second)
	if err != nil {
		t.api.writeError(w, r, err)
		return
	}
	id, _ := auth.TokenID(tok)
	now := time.Now().UTC()
	// The record is what lets the token be revoked: without it the token
	// is refused, so it is durable before the token is handed out.
	if err := t.st.CreateAccessToken(r.Context(), store.AccessToken{ID: id, Team: k.Team, KeyID: k.ID, Name: b.Name, CreatedAt: now, ExpiresAt: exp}); err != nil {
		t.api.writeError(w, r, err)
		return
	}
	t.sweepTokens(r.Context(), now)
	writeJSON(w, http.StatusCreated, tokenJSON{ID: id, Name: b.Name, Token: tok, CreatedAt: now, ExpiresAt: exp,
		Mask: maskJSON{Prefix: tok[:min(len(tok), 8)], ValueLength: len(tok), MaskedValueSuffix: tok[len(tok)-4:]}})
}

// sweepTokens deletes the records of tokens that expired before now: a
// revocation is kept as long as its token could still be presented, and
// no longer. Its failure fails no request: the records wait for the next
// issue.
func (t *Teams) sweepTokens(ctx context.Context, now time.Time) {
	if _, err := t.st.PruneAccessTokens(context.WithoutCancel(ctx), now); err != nil && t.api.log != nil {
		t.api.log.Warn("sweep expired access tokens", logx.Err(err))
	}
}
