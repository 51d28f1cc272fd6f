// Package mcpconfig checks the MCP client configurations of this
// directory by starting each as a client would, against a real server.
package mcpconfig

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/soulbox/soulbox/internal/server"
	"github.com/soulbox/soulbox/internal/server/servertest"
)

type config struct {
	MCPServers map[string]struct {
		Command string            `json:"command"`
		Args    []string          `json:"args"`
		Env     map[string]string `json:"env"`
		URL     string            `json:"url"`
		Headers map[string]string `json:"headers"`
	} `json:"mcpServers"`
}

func read(t *testing.T, name string) config {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var c config
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if _, ok := c.MCPServers["soulbox"]; !ok {
		t.Fatalf("%s has no soulbox server", name)
	}
	return c
}

// fill puts the test server's URL and key where the examples have
// placeholders.
func fill(s, url, key string) string {
	return strings.NewReplacer("http://127.0.0.1:3000", url, "e2b_your_key_here", key).Replace(s)
}

func listTools(t *testing.T, tr mcp.Transport) {
	t.Helper()
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "config-test", Version: "1"}, nil).Connect(context.Background(), tr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	res, err := cs.ListTools(context.Background(), nil)
	if err != nil || len(res.Tools) != 9 {
		t.Fatalf("tools: %d, %v", len(res.Tools), err)
	}
}

type headers map[string]string

func (h headers) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	for k, v := range h {
		r.Header.Set(k, v)
	}
	return http.DefaultTransport.RoundTrip(r)
}

func TestConfigs(t *testing.T) {
	s := servertest.Start(t, func(c *server.Config) { c.MCP = true })
	bin := filepath.Join(t.TempDir(), "soulbox")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/soulbox/soulbox/cmd/soulbox").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	for _, name := range []string{"claude_desktop_config.json", "cursor_mcp.json"} {
		t.Run(name, func(t *testing.T) {
			sv := read(t, name).MCPServers["soulbox"]
			if sv.Command != "soulbox" {
				t.Fatalf("command %q", sv.Command)
			}
			cmd := exec.Command(bin, sv.Args...)
			cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
			for k, v := range sv.Env {
				cmd.Env = append(cmd.Env, k+"="+fill(v, s.URL, s.APIKey))
			}
			listTools(t, &mcp.CommandTransport{Command: cmd})
		})
	}
	t.Run("streamable_http.json", func(t *testing.T) {
		sv := read(t, "streamable_http.json").MCPServers["soulbox"]
		h := headers{}
		for k, v := range sv.Headers {
			h[k] = fill(v, s.URL, s.APIKey)
		}
		listTools(t, &mcp.StreamableClientTransport{Endpoint: fill(sv.URL, s.URL, s.APIKey), HTTPClient: &http.Client{Transport: h}, MaxRetries: -1})
	})
}
