package server

import (
	"fmt"
	"net/http"

	"github.com/soulbox/soulbox/internal/store"
)

// recordJoin is the registry's Joined hook: a node's join is recorded in
// the audit log; a refused one as a refused credential, counted against
// the client's address (past the limit, the node listener answers 429
// before reading a join) and recorded once per address and window.
func (s *Server) recordJoin(r *http.Request, node, tokenID string, err error) {
	if err != nil {
		s.audit.AuthFailure(r, fmt.Errorf("join as node %q refused: %w", node, err))
		return
	}
	_ = s.audit.Record(r.Context(), store.AuditEntry{Action: r.Method + " " + r.URL.Path, Target: "/nodes/" + node,
		Remote: r.RemoteAddr, Status: http.StatusOK, Message: fmt.Sprintf("node %q joined with join token %q", node, tokenID)})
}

// gateNodes answers 429, unread, the requests of a client address past
// its refused credentials (refused joins, and the API's refused keys).
func (s *Server) gateNodes(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.authn.Gate != nil && !s.authn.Gate(w, r) {
			return
		}
		h.ServeHTTP(w, r)
	})
}
