package server

import (
	"net/http"

	"github.com/soulbox/soulbox/internal/api"
	"github.com/soulbox/soulbox/internal/authz"
)

// teamRoutes adds the team and key routes (GET /teams, /api-keys,
// /admin/teams): all need an API key, most a role.
func (s *Server) teamRoutes(mux *http.ServeMux) {
	tm := http.NewServeMux()
	api.NewTeams(api.TeamsConfig{Store: s.store, Tokens: s.authn.Tokens, Lifecycle: s.lifecycle, Audit: s.audit, DeleteTeam: s.deleteTeam, Secrets: s.secrets, Log: s.log}).Register(authz.Guard(s.audit.Wrap(tm), api.TeamRoutes))
	s.nodeTokenRoutes(tm)
	for _, p := range api.TeamPaths {
		mux.Handle(p, s.authn.Middleware(tm))
	}
}
