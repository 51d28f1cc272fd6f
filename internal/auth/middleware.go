package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
)

// Authenticator checks keys against the store.
type Authenticator struct {
	Store store.APIKeys
}

// Authenticate returns the key record of a presented key, or an
// ErrUnauthenticated error saying what is wrong.
func (a Authenticator) Authenticate(ctx context.Context, key string) (store.APIKey, error) {
	if key == "" {
		return store.APIKey{}, fmt.Errorf("missing API key: send it in the X-API-Key header: %w", errdefs.ErrUnauthenticated)
	}
	if !ValidFormat(key) {
		return store.APIKey{}, fmt.Errorf("malformed API key: keys look like e2b_ and 40 hex digits: %w", errdefs.ErrUnauthenticated)
	}
	k, err := a.Store.APIKeyByHash(ctx, Hash(key))
	if errors.Is(err, errdefs.ErrNotFound) {
		return k, fmt.Errorf("unknown API key: %w", errdefs.ErrUnauthenticated)
	}
	if err != nil {
		return k, err
	}
	if k.RevokedAt != nil {
		return k, fmt.Errorf("API key %s was revoked: %w", k.Prefix, errdefs.ErrUnauthenticated)
	}
	return k, nil
}

type keyCtx struct{}

// FromContext returns the key a request was authenticated with.
func FromContext(ctx context.Context) (store.APIKey, bool) {
	k, ok := ctx.Value(keyCtx{}).(store.APIKey)
	return k, ok
}

// Middleware lets through requests with a valid key in X-API-Key (or
// "Authorization: Bearer", for scripts), with the key in their context.
func (a Authenticator) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get("X-API-Key")
		if key == "" {
			key, _ = strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		}
		k, err := a.Authenticate(r.Context(), strings.TrimSpace(key))
		if err != nil {
			status, msg := http.StatusUnauthorized, err.Error()
			if !errors.Is(err, errdefs.ErrUnauthenticated) {
				status, msg = http.StatusInternalServerError, "internal error"
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_ = json.NewEncoder(w).Encode(map[string]any{"code": status, "message": msg})
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), keyCtx{}, k)))
	})
}
