package server

import (
	"net/http"

	"github.com/soulbox/soulbox/internal/api"
	"github.com/soulbox/soulbox/internal/authz"
	"github.com/soulbox/soulbox/internal/logx"
	"github.com/soulbox/soulbox/internal/signin"
)

// signInRoutes adds the sign-in routes (/auth/...), which need no key:
// they are how a member gets an access token. OIDC sign-in is on when
// the configuration names an issuer.
func (s *Server) signInRoutes(mux *http.ServeMux) {
	var v *signin.Verifier
	if c, on := s.cfg.OIDC.signin(); on {
		var err error
		if v, err = signin.New(c); err != nil { // Config.Validate checked c
			s.log.Error("OIDC sign-in is off", logx.Err(err))
		}
	}
	sm := http.NewServeMux()
	api.NewSignIn(api.SignInConfig{Verifier: v, Store: s.store, Tokens: s.authn.Tokens, Audit: s.audit, Gate: s.authn.Gate, Log: s.log}).
		Register(authz.Guard(sm, api.SignInRoutes))
	for _, p := range api.SignInPaths {
		mux.Handle(p, sm)
	}
}
