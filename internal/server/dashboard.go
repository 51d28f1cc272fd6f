package server

import (
	"crypto/tls"
	"fmt"
	"net"
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

// listenDashboard binds DashboardListen, when set: the one address the
// dashboard is served on.
func (s *Server) listenDashboard(tc *tls.Config) error {
	if s.cfg.DashboardListen == "" {
		return nil
	}
	l, err := net.Listen("tcp", s.cfg.DashboardListen)
	if err != nil {
		return fmt.Errorf("listen on %s for the dashboard (--dashboard-listen): %w", s.cfg.DashboardListen, err)
	}
	l = dashboardListener{l}
	if tc != nil {
		l = tls.NewListener(l, tc)
	}
	s.dashboardL = l
	return nil
}

// DashboardAddr is the address the dashboard is served on apart from
// Addr, or "" when it is served on Addr.
func (s *Server) DashboardAddr() string {
	if s.dashboardL == nil {
		return ""
	}
	return s.dashboardL.Addr().String()
}

// dashboardHandler is h, the server's routes, with the dashboard added
// for requests that came in on DashboardListen: the page calls the API
// and the sandboxes' agents on its own origin, so they are served there
// too. Without DashboardListen, h already serves the dashboard.
func (s *Server) dashboardHandler(h http.Handler) http.Handler {
	if s.cfg.DashboardListen == "" {
		return h
	}
	mux := http.NewServeMux()
	s.dashboardRoutes(mux)
	mux.Handle("/", h)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := r.Context().Value(http.LocalAddrContextKey).(dashboardAddr); ok {
			mux.ServeHTTP(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// dashboardListener marks its connections' local address as the
// dashboard's, which the handler sees in the request's context
// (http.LocalAddrContextKey), with or without TLS above it.
type dashboardListener struct{ net.Listener }

func (l dashboardListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return dashboardConn{c}, nil
}

type dashboardConn struct{ net.Conn }

func (c dashboardConn) LocalAddr() net.Addr { return dashboardAddr{c.Conn.LocalAddr()} }

type dashboardAddr struct{ net.Addr }
