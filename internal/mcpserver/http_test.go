package mcpserver_test

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/soulbox/soulbox/internal/auth"
	"github.com/soulbox/soulbox/internal/mcpserver/mcptest"
	"github.com/soulbox/soulbox/internal/server"
	"github.com/soulbox/soulbox/internal/server/servertest"
	"github.com/soulbox/soulbox/internal/store/sqlite"
	"github.com/soulbox/soulbox/sdk/go/soulbox"
)

// keyTransport presents an API key on every request.
type keyTransport struct{ key string }

func (k keyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+k.key)
	return http.DefaultTransport.RoundTrip(r)
}

func connect(ctx context.Context, endpoint, key string) (*mcp.ClientSession, error) {
	c := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, nil)
	return c.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: endpoint, HTTPClient: &http.Client{Transport: keyTransport{key}}, MaxRetries: -1}, nil)
}

func TestStreamableHTTP(t *testing.T) {
	s := servertest.Start(t, func(c *server.Config) { c.MCP = true })
	ctx := context.Background()
	endpoint := s.URL + "/mcp"

	t.Run("RefusedWithoutKey", func(t *testing.T) {
		body := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"x","version":"1"}}}`
		for _, key := range []string{"", "e2b_0000000000000000000000000000000000000000"} {
			req, _ := http.NewRequest("POST", endpoint, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json, text/event-stream")
			if key != "" {
				req.Header.Set("X-API-Key", key)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("initialize with key %q: HTTP %d, want 401", key, resp.StatusCode)
			}
		}
		if _, err := connect(ctx, endpoint, "e2b_0000000000000000000000000000000000000000"); err == nil {
			t.Error("an MCP client with a wrong key connected")
		}
	})

	cs, err := connect(ctx, endpoint, s.APIKey)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()

	t.Run("SessionBelongsToItsKey", func(t *testing.T) {
		st, err := sqlite.Open(ctx, filepath.Join(s.DataDir, "soulbox.db"))
		if err != nil {
			t.Fatal(err)
		}
		other, _, err := auth.Create(ctx, st, "other", auth.DefaultTeam, false)
		st.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			session, key string
			want         int
		}{
			{cs.ID(), other, http.StatusForbidden},
			{"no-such-session", s.APIKey, http.StatusNotFound},
		} {
			req, _ := http.NewRequest("POST", endpoint, strings.NewReader(`{"jsonrpc":"2.0","id":9,"method":"tools/list"}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json, text/event-stream")
			req.Header.Set("Mcp-Session-Id", tc.session)
			req.Header.Set("X-API-Key", tc.key)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("session %q with another key: HTTP %d, want %d", tc.session, resp.StatusCode, tc.want)
			}
		}
	})

	mcptest.Run(t, cs, s.URL, s.APIKey)
}

func TestNotServedUnlessAsked(t *testing.T) {
	s := servertest.Start(t, nil)
	req, _ := http.NewRequest("POST", s.URL+"/mcp", strings.NewReader("{}"))
	req.Header.Set("X-API-Key", s.APIKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("/mcp without --mcp: HTTP %d, want 404", resp.StatusCode)
	}
}

// TestSessionEndKillsDefaultSandbox: an HTTP client that closes its MCP
// session leaves no default sandbox running behind it.
func TestSessionEndKillsDefaultSandbox(t *testing.T) {
	s := servertest.Start(t, func(c *server.Config) { c.MCP = true })
	ctx := context.Background()
	cs, err := connect(ctx, s.URL+"/mcp", s.APIKey)
	if err != nil {
		t.Fatal(err)
	}
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "run_command", Arguments: map[string]any{"command": "true"}})
	if err != nil || res.IsError {
		t.Fatalf("run_command: %v %+v", err, res)
	}
	sdk, err := soulbox.New(soulbox.Options{APIURL: s.URL, APIKey: s.APIKey, Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for info, err := range sdk.List(ctx, &soulbox.ListOptions{Metadata: map[string]string{"created-by": "soulbox-tools"}}) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, info.SandboxID)
	}
	if len(ids) != 1 {
		t.Fatalf("the session made sandboxes %v, want one", ids)
	}
	if err := cs.Close(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := sdk.GetInfo(ctx, ids[0])
		if errors.Is(err, soulbox.ErrNotFound) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the default sandbox %s outlived its closed session by 30 s (GetInfo: %v)", ids[0], err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
