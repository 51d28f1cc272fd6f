package api

import (
	"fmt"
	"net/http"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// oidcConfigJSON is what a client needs to sign a member in: the
// issuer, this server's client id there, and the issuer's endpoints of
// the device authorization grant (RFC 8628).
type oidcConfigJSON struct {
	Issuer                      string `json:"issuer"`
	ClientID                    string `json:"clientID"`
	DeviceAuthorizationEndpoint string `json:"deviceAuthorizationEndpoint"`
	TokenEndpoint               string `json:"tokenEndpoint"`
}

// oidcConfig is GET /auth/oidc: how to sign in here; 404 when OIDC
// sign-in is off.
func (s *SignIn) oidcConfig(w http.ResponseWriter, r *http.Request) {
	v := s.cfg.Verifier
	if v == nil {
		s.api.writeError(w, r, fmt.Errorf("OIDC sign-in is not configured on this server (soulbox server --oidc-issuer, --oidc-client-id): %w", errdefs.ErrNotFound))
		return
	}
	device, token, err := v.Endpoints(r.Context())
	if err != nil {
		s.api.writeError(w, r, err)
		return
	}
	c := v.Config()
	writeJSON(w, http.StatusOK, oidcConfigJSON{Issuer: c.Issuer, ClientID: c.ClientID, DeviceAuthorizationEndpoint: device, TokenEndpoint: token})
}
