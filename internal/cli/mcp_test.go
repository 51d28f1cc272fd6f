package cli_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/soulbox/soulbox/internal/mcpserver/mcptest"
)

// TestMCPStdio runs `soulbox mcp` as Claude Desktop would: a child process
// speaking MCP on stdin/stdout, finding the server in its environment.
func TestMCPStdio(t *testing.T) {
	e := newCLIEnv(t)
	cmd := exec.Command(e.bin, "mcp")
	cmd.Env = append(os.Environ(), "SOULBOX_API_URL="+e.url, "SOULBOX_API_KEY="+e.key, "E2B_API_URL=", "E2B_API_KEY=")
	cmd.Stderr = os.Stderr
	c := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, nil)
	cs, err := c.Connect(context.Background(), &mcp.CommandTransport{Command: cmd}, nil)
	if err != nil {
		t.Fatal(err)
	}
	mcptest.Run(t, cs, e.url, e.key)
	// A new default sandbox, which the end of the session takes with it.
	if res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "run_command", Arguments: map[string]any{"command": "true"}}); err != nil || res.IsError {
		t.Fatalf("run_command: %v %+v", err, res)
	}
	if err := cs.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	if cmd.ProcessState == nil || !cmd.ProcessState.Success() {
		t.Errorf("soulbox mcp did not exit cleanly when its stdin closed: %v", cmd.ProcessState)
	}
	if out, _, _ := e.run(t, "", "sandbox", "list", "--metadata", "created-by=soulbox-tools", "--json"); strings.TrimSpace(out) != "[]" {
		t.Errorf("sandboxes of the ended session: %s", out)
	}
}

func TestMCPStdioWithoutKey(t *testing.T) {
	e := newCLIEnv(t)
	cmd := exec.Command(e.bin, "mcp")
	cmd.Env = append(os.Environ(), "SOULBOX_API_URL="+e.url, "SOULBOX_API_KEY=", "E2B_API_URL=", "E2B_API_KEY=", "XDG_CONFIG_HOME="+t.TempDir(), "HOME="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("soulbox mcp without a key started: %s", out)
	}
}
