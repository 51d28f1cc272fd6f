package api

import (
	"net/http"

	"github.com/soulbox/soulbox/internal/auth"
	"github.com/soulbox/soulbox/internal/authz"
)

// SandboxRoutes is the permission each route of API.Register needs.
// Register through authz.Guard: a route missing here does not register.
var SandboxRoutes = authz.Routes{
	"POST /sandboxes":                     authz.SandboxesCreate,
	"POST /v2/sandboxes":                  authz.SandboxesCreate,
	"GET /sandboxes":                      authz.SandboxesRead,
	"GET /v2/sandboxes":                   authz.SandboxesRead,
	"GET /sandboxes/metrics":              authz.SandboxesRead,
	"GET /sandboxes/{id}":                 authz.SandboxesRead,
	"DELETE /sandboxes/{id}":              authz.SandboxesUse,
	"POST /sandboxes/{id}/timeout":        authz.SandboxesUse,
	"PUT /sandboxes/{id}/network":         authz.SandboxesUse,
	"POST /sandboxes/{id}/pause":          authz.SandboxesUse,
	"POST /sandboxes/{id}/processes/kill": authz.SandboxesUse,
	"POST /sandboxes/{id}/connect":        authz.SandboxesUse,
	"POST /v2/sandboxes/{id}/connect":     authz.SandboxesUse,
	"POST /sandboxes/{id}/resume":         authz.SandboxesUse,
	"POST /sandboxes/{id}/refreshes":      authz.SandboxesUse,
	"GET /sandboxes/{id}/metrics":         authz.SandboxesRead,
	"GET /sandboxes/{id}/logs":            authz.SandboxesRead,
	"GET /events":                         authz.SandboxesRead,
	"GET /teams/{teamID}/metrics":         authz.SandboxesRead,
	"GET /teams/{teamID}/metrics/max":     authz.SandboxesRead,
	"GET /nodes":                          authz.ServerAdmin,
	"GET /nodes/{nodeID}":                 authz.ServerAdmin,
	"POST /nodes/{nodeID}":                authz.ServerAdmin,
	"DELETE /nodes/{nodeID}":              authz.ServerAdmin,
	"POST /sandboxes/{id}/snapshots":      authz.SandboxesUse,
	"GET /snapshots":                      authz.SandboxesRead,
	"POST /sandboxes/{id}/fork":           authz.SandboxesCreate,
	"/sandboxes":                          authz.Public, // unknown routes: 404
	"/sandboxes/":                         authz.Public,
	"/v2/sandboxes":                       authz.Public,
	"/v2/sandboxes/":                      authz.Public,
	"/events":                             authz.Public,
	"/teams/":                             authz.Public,
	"/nodes":                              authz.Public,
	"/nodes/":                             authz.Public,
	"/snapshots":                          authz.Public,
}

// TemplateRoutes is the permission each route of Templates.Register
// needs.
var TemplateRoutes = authz.Routes{
	"POST /v3/templates":                          authz.TemplatesBuild,
	"GET /templates/{id}/files/{hash}":            authz.TemplatesBuild,
	"POST /v2/templates/{id}/builds/{buildID}":    authz.TemplatesBuild,
	"GET /templates/{id}/builds/{buildID}/status": authz.TemplatesRead,
	"GET /templates/{id}/builds/{buildID}/logs":   authz.TemplatesRead,
	"GET /templates":                              authz.TemplatesRead,
	"GET /templates/{id}":                         authz.TemplatesRead,
	"DELETE /templates/{id}":                      authz.TemplatesBuild,
	"PATCH /templates/{id}":                       authz.TemplatesBuild,
	"PATCH /v2/templates/{id}":                    authz.TemplatesBuild,
	"POST /templates/tags":                        authz.TemplatesBuild,
	"DELETE /templates/tags":                      authz.TemplatesBuild,
	"GET /templates/{a}/{b}":                      authz.TemplatesRead,
	"GET /templates/{id}/pool":                    authz.TemplatesRead,
	"PUT /templates/{id}/pool":                    authz.TemplatesBuild,
	"DELETE /templates/{id}/pool":                 authz.TemplatesBuild,
	"/templates":                                  authz.Public,
	"/templates/":                                 authz.Public,
	"/v2/templates/":                              authz.Public,
	"/v3/templates":                               authz.Public,
}

// may reports whether the request's key has permission p (true without
// a key: the API built without authentication, in tests).
func may(r *http.Request, p authz.Permission) bool {
	k, ok := auth.FromContext(r.Context())
	return !ok || authz.Allowed(k, p)
}
