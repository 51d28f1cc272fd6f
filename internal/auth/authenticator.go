package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/logx"
	"github.com/soulbox/soulbox/internal/store"
)

// touchEvery is how often at most a key's last use is written to the
// store: a durable write per request would cost more than the request.
const touchEvery = time.Minute

// Authenticator checks keys against the store. A value with Store set is
// ready to use; it must not be copied once used.
type Authenticator struct {
	Store store.APIKeys
	// Tokens, if set, also accepts access tokens (JWTs) made from keys.
	Tokens *Tokens
	// Issued, if set, holds the record of every access token issued:
	// a token without a record, or whose record is revoked, is refused.
	Issued store.AccessTokens
	// Teams, if set, tells a key of a deleted team apart from a revoked
	// one in the refusal's message.
	Teams store.Teams
	// Members, if set, accepts members' access tokens (Tokens.IssueMember)
	// while the user is a member of the token's team.
	Members store.Members
	// Failed, if set, hears of every refused credential (the audit log
	// records them); not of the store's failures.
	Failed func(r *http.Request, err error)
	// Gate, if set, is asked before a credential is checked whether the
	// request may go on (refusals per client address); when it may not,
	// Gate has answered it.
	Gate func(w http.ResponseWriter, r *http.Request) bool
	// Limit, if set, is asked after a key is authenticated whether the
	// request may go on (rate limits); when it may not, Limit has
	// answered it.
	Limit func(w http.ResponseWriter, r *http.Request, k store.APIKey) bool
	// Log, if set, hears of failures to record a key's last use, which do
	// not fail the request.
	Log *slog.Logger

	now func() time.Time // time.Now unless a test sets it

	mu      sync.Mutex
	touched map[string]time.Time // key id -> last use written, by this process
}

// Authenticate returns the record of a presented key, or an error in
// ErrUnauthenticated whose message says what to fix. Any other error is
// the store's fault, not the client's.
func (a *Authenticator) Authenticate(ctx context.Context, key string) (store.APIKey, error) {
	if key == "" {
		return store.APIKey{}, fmt.Errorf("missing API key: send it in the X-API-Key header: %w", errdefs.ErrUnauthenticated)
	}
	if a.Tokens != nil && LooksLikeToken(key) {
		return a.authenticateToken(ctx, key)
	}
	// The message never repeats the key: it is a secret, and messages end
	// up in logs.
	if !ValidFormat(key) {
		return store.APIKey{}, fmt.Errorf("malformed API key: keys are e2b_ followed by 40 lowercase hex digits: %w", errdefs.ErrUnauthenticated)
	}
	k, err := a.Store.APIKeyByHash(ctx, Hash(key))
	if errors.Is(err, errdefs.ErrNotFound) {
		return store.APIKey{}, fmt.Errorf("unknown API key: %w", errdefs.ErrUnauthenticated)
	}
	if err != nil {
		return store.APIKey{}, fmt.Errorf("look up API key: %w", err)
	}
	return a.live(ctx, k)
}

// authenticateToken returns the key an access token stands for, if the
// token is valid and the key still works.
func (a *Authenticator) authenticateToken(ctx context.Context, token string) (store.APIKey, error) {
	c, err := a.Tokens.parse(token)
	if err != nil {
		return store.APIKey{}, err
	}
	if c.User != "" {
		return a.member(ctx, c)
	}
	if a.Issued != nil {
		if err := a.issued(ctx, c, c.Subject); err != nil {
			return store.APIKey{}, err
		}
	}
	k, err := a.Store.APIKeyByHash(ctx, c.KeyHash)
	if errors.Is(err, errdefs.ErrNotFound) || (err == nil && k.ID != c.Subject) {
		return store.APIKey{}, fmt.Errorf("access token of an unknown API key: %w", errdefs.ErrUnauthenticated)
	}
	if err != nil {
		return store.APIKey{}, fmt.Errorf("look up API key: %w", err)
	}
	return a.live(ctx, k)
}

// issued checks that the server issued the token c, for the key it
// names (keyID: the key's id, or UserKeyPrefix and the user's id for a
// member's token), and that it was not revoked. Records are swept only
// after their token expired, so a valid token without one was not
// issued here (or was issued before tokens had records): refused, fail
// closed.
func (a *Authenticator) issued(ctx context.Context, c tokenClaims, keyID string) error {
	rec, err := a.Issued.GetAccessToken(ctx, c.ID)
	if errors.Is(err, errdefs.ErrNotFound) || errors.Is(err, errdefs.ErrInvalidArgument) || (err == nil && (rec.KeyID != keyID || rec.Team != c.Team)) {
		how := "POST /access-tokens with the API key"
		if c.User != "" {
			how = "sign in again"
		}
		return fmt.Errorf("access token %q is unknown to this server: get a new one (%s): %w", c.ID, how, errdefs.ErrUnauthenticated)
	}
	if err != nil {
		return fmt.Errorf("look up access token: %w", err)
	}
	if rec.RevokedAt != nil {
		return fmt.Errorf("access token %q was revoked: %w", c.ID, errdefs.ErrUnauthenticated)
	}
	return nil
}

// live returns k if it was not revoked, recording its use.
func (a *Authenticator) live(ctx context.Context, k store.APIKey) (store.APIKey, error) {
	if k.RevokedAt != nil {
		if a.Teams != nil {
			if _, err := a.Teams.GetTeam(ctx, k.Team); errors.Is(err, errdefs.ErrNotFound) {
				return store.APIKey{}, fmt.Errorf("API key %s… belongs to team %q, which was deleted: %w", k.Prefix, k.Team, errdefs.ErrUnauthenticated)
			}
		}
		return store.APIKey{}, fmt.Errorf("API key %s… was revoked: %w", k.Prefix, errdefs.ErrUnauthenticated)
	}
	a.touch(ctx, k)
	return k, nil
}

// touch records the key's use unless it was recorded less than touchEvery
// ago, by this process (the map, which also keeps concurrent requests from
// all writing) or by another one or before a restart (the record).
func (a *Authenticator) touch(ctx context.Context, k store.APIKey) {
	now := time.Now()
	if a.now != nil {
		now = a.now()
	}
	if k.LastUsedAt != nil && now.Sub(*k.LastUsedAt) < touchEvery {
		return
	}
	a.mu.Lock()
	if last, ok := a.touched[k.ID]; ok && now.Sub(last) < touchEvery {
		a.mu.Unlock()
		return
	}
	if a.touched == nil {
		a.touched = map[string]time.Time{}
	}
	// Marked before the write, and kept if it fails: a failing store is
	// not asked again by every request.
	a.touched[k.ID] = now
	a.mu.Unlock()
	// A client that hangs up does not cancel the record of its use.
	if err := a.Store.TouchAPIKey(context.WithoutCancel(ctx), k.ID, now); err != nil && a.Log != nil {
		a.Log.Warn("record API key use", slog.String("key.id", k.ID), logx.Err(err))
	}
}

type keyCtx struct{}

// NewContext returns ctx carrying the key a request was authenticated with.
func NewContext(ctx context.Context, k store.APIKey) context.Context {
	return context.WithValue(ctx, keyCtx{}, k)
}

// FromContext returns the key a request was authenticated with.
func FromContext(ctx context.Context) (store.APIKey, bool) {
	k, ok := ctx.Value(keyCtx{}).(store.APIKey)
	return k, ok
}
