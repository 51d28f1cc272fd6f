package server

import (
	"net/http"

	"github.com/soulbox/soulbox/internal/auth"
	"github.com/soulbox/soulbox/internal/authz"
)

// serverAdmin reports whether r's key is a server administrator's, by
// the one rule authz applies to the /admin routes: the node routes and
// the pool ceiling ask the same question.
func serverAdmin(r *http.Request) bool {
	k, ok := auth.FromContext(r.Context())
	return ok && authz.Allowed(k, authz.ServerAdmin)
}
