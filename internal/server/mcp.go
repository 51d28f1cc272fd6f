package server

import (
	"net/http"

	"github.com/soulbox/soulbox/internal/auth"
	"github.com/soulbox/soulbox/internal/inproc"
	"github.com/soulbox/soulbox/internal/mcpserver"
	"github.com/soulbox/soulbox/sdk/go/soulbox"
)

// selfURL is the made-up origin of the MCP sessions' requests to this
// server; .invalid never resolves, and nothing dials it.
const selfURL = "http://soulbox.invalid"

// mcpHandler serves MCP on /mcp (Config.MCP): behind the API's key check,
// each session drives sandboxes through this server's own API with the
// key its client presented, so it sees and may do what that key may. Its
// requests go to the server's handler in process, not through the
// listener, so they work whatever the listener speaks (TLS included).
// Run closes it after the listeners stop, so that the kills of ended
// sessions' sandboxes, which go in process, finish before the server does.
func (s *Server) mcpHandler() http.Handler {
	s.mcp = mcpserver.Handler(auth.KeyFromRequest, func(key, remote string) (*soulbox.Client, error) {
		// The session's calls are recorded (audit log, rate limits per
		// address) as coming from the client that opened it.
		hc := &http.Client{Transport: inproc.Transport{Handler: s.selfHandler, RemoteAddr: remote}}
		return soulbox.New(soulbox.Options{APIURL: selfURL, SandboxURL: selfURL, APIKey: key, Domain: s.cfg.Domain, HTTPClient: hc, Getenv: func(string) string { return "" }})
	})
	return s.authn.Middleware(s.mcp)
}

// selfHandler is the handler the server's listeners serve, once made.
func (s *Server) selfHandler() http.Handler {
	if s.http == nil {
		return nil
	}
	return s.http.Handler
}
