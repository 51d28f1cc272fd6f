package server

import (
	"net/http"

	"github.com/soulbox/soulbox/internal/dashboard"
)

// dashboardRoutes serves the web dashboard under dashboard.Prefix and
// sends a browser opening the server's root there. The dashboard's
// pages need no key: they hold no data, and sign in with one against the
// API like any client.
func (s *Server) dashboardRoutes(mux *http.ServeMux) {
	h := dashboard.Handler()
	mux.Handle("GET "+dashboard.Prefix, h)
	mux.Handle("HEAD "+dashboard.Prefix, h)
	mux.Handle("GET /{$}", http.RedirectHandler(dashboard.Prefix, http.StatusFound))
}
