package auth

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/logx"
)

// Middleware lets through requests with a valid key, with the key in their
// context (FromContext). The key comes from X-API-Key, as the E2B SDKs
// send it, or else from "Authorization: Bearer <key>" (the soulbox CLI,
// curl). Anything else is answered 401 with {"code": 401, "message"} as
// the SDKs parse it (the Python SDK raises AuthenticationError), and next
// is not called.
func (a *Authenticator) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k, err := a.Authenticate(r.Context(), keyFromRequest(r))
		if err != nil {
			status, msg := errdefs.HTTPStatus(err), err.Error()
			if status >= 500 {
				// The store's trouble is the operator's to read, not
				// the client's.
				if a.Log != nil {
					a.Log.Error("authenticate", slog.String("path", r.URL.Path), logx.Err(err))
				}
				msg = http.StatusText(status)
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_ = json.NewEncoder(w).Encode(errorBody{Code: status, Message: msg})
			return
		}
		next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), k)))
	})
}

// errorBody is the control plane's error shape (see E2B-PROTOCOL.md).
type errorBody struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// keyFromRequest returns the presented key: X-API-Key wins over a bearer
// token; the scheme name is case-insensitive (RFC 9110).
func keyFromRequest(r *http.Request) string {
	if key := strings.TrimSpace(r.Header.Get("X-API-Key")); key != "" {
		return key
	}
	scheme, token, ok := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	if ok && strings.EqualFold(scheme, "Bearer") {
		return strings.TrimSpace(token)
	}
	return ""
}
