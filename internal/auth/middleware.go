package auth

import (
	"errors"
	"net/http"
	"strings"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/httperr"
)

// Middleware lets through requests with a valid key, with the key in their
// context (FromContext). The key comes from X-API-Key, as the E2B SDKs
// send it, or else from "Authorization: Bearer <key>" (the soulbox CLI,
// curl). Anything else is answered 401 with {"code": 401, "message"} as
// the SDKs parse it (the Python SDK raises AuthenticationError), and next
// is not called.
func (a *Authenticator) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.Gate != nil && !a.Gate(w, r) {
			return
		}
		presented := KeyFromRequest(r)
		k, err := a.Authenticate(r.Context(), presented)
		if err != nil {
			if a.Failed != nil && errors.Is(err, errdefs.ErrUnauthenticated) {
				a.Failed(r, err)
			}
			// The store's trouble is the operator's to read, not the
			// client's: httperr logs it and hides it.
			httperr.Write(w, r, a.Log, err)
			return
		}
		if a.Limit != nil && !a.Limit(w, r, k) {
			return
		}
		ctx := NewContext(r.Context(), k)
		if a.Tokens != nil && LooksLikeToken(presented) {
			ctx = viaToken(ctx)
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// KeyFromRequest returns the presented key: X-API-Key wins over a bearer
// token; the scheme name is case-insensitive (RFC 9110).
func KeyFromRequest(r *http.Request) string {
	if key := strings.TrimSpace(r.Header.Get("X-API-Key")); key != "" {
		return key
	}
	scheme, token, ok := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	if ok && strings.EqualFold(scheme, "Bearer") {
		return strings.TrimSpace(token)
	}
	return ""
}
