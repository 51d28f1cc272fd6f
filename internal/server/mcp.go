package server

import (
	"net"
	"net/http"

	"github.com/soulbox/soulbox/internal/auth"
	"github.com/soulbox/soulbox/internal/mcpserver"
	"github.com/soulbox/soulbox/sdk/go/soulbox"
)

// mcpHandler serves MCP on /mcp (Config.MCP): behind the API's key check,
// each session drives sandboxes through this server's own API with the
// key its client presented, so it sees and may do what that key may.
func (s *Server) mcpHandler() http.Handler {
	return s.authn.Middleware(mcpserver.Handler(auth.KeyFromRequest, func(key string) (*soulbox.Client, error) {
		self := "http://" + loopback(s.Addr())
		return soulbox.New(soulbox.Options{APIURL: self, SandboxURL: self, APIKey: key, Domain: s.cfg.Domain, Getenv: func(string) string { return "" }})
	}))
}

// loopback is addr with an unspecified host (0.0.0.0, ::) replaced by the
// loopback address, which a listener on every address also answers.
func loopback(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}
