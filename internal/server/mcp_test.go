package server_test

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/soulbox/soulbox/internal/auth"
	"github.com/soulbox/soulbox/internal/certs"
	"github.com/soulbox/soulbox/internal/server"
	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/sqlite"
)

// headerTransport adds an API key to every request it sends through rt.
type headerTransport struct {
	rt  http.RoundTripper
	key string
}

func (h headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-API-Key", h.key)
	return h.rt.RoundTrip(r)
}

// With TLS on, MCP sessions still drive sandboxes: their requests to the
// server's own API do not go through its (TLS) listener as plain HTTP.
func TestMCPOverTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("creates a real sandbox")
	}
	cfg := testConfig(t)
	cfg.AdminKey, _, _ = auth.Generate()
	cfg.Domain = "sb.test"
	cfg.TLS = certs.Config{Mode: certs.ModeSelfSigned}
	cfg.HTTPSListen = "off"
	cfg.MCP = true
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, cfg, discardLogger())
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	hc := httpsClient(t, filepath.Join(cfg.DataDir, "tls", "ca.pem"), srv.Addr())
	c := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, nil)
	cs, err := c.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: "https://" + srv.Addr() + "/mcp",
		HTTPClient: &http.Client{Transport: headerTransport{hc.Transport, cfg.AdminKey}}, MaxRetries: -1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "run_command", Arguments: map[string]any{"command": "echo over-tls"}})
	if err != nil || res.IsError {
		t.Fatalf("run_command over HTTPS: %v %+v", err, res)
	}
	var out strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			out.WriteString(tc.Text)
		}
	}
	if !strings.Contains(out.String(), "over-tls") {
		t.Errorf("run_command output %q", out.String())
	}
	if res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "kill_sandbox", Arguments: map[string]any{}}); err != nil || res.IsError {
		t.Errorf("kill_sandbox over HTTPS: %v %+v", err, res)
	}
	// The session's changes are recorded from the MCP client's address,
	// not a made-up one.
	st, err := sqlite.Open(ctx, filepath.Join(cfg.DataDir, "soulbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	entries, _ := st.ListAudit(ctx, store.AuditFilter{})
	creates := 0
	for _, e := range entries {
		if e.Action == "POST /sandboxes" {
			creates++
			if e.Remote == "127.0.0.1:0" || !strings.HasPrefix(e.Remote, "127.0.0.1:") {
				t.Errorf("the MCP session's create recorded from %q, want the client's address", e.Remote)
			}
		}
	}
	if creates == 0 {
		t.Errorf("no create recorded: %+v", entries)
	}
}
