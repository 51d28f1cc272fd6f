package cli

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/soulbox/soulbox/internal/mcpserver"
	"github.com/soulbox/soulbox/sdk/go/soulbox"
)

func newMCPCmd() *cobra.Command {
	c := &conn{}
	cmd := &cobra.Command{
		Use:   "mcp",
		Short: "Serve SoulBox's MCP tools on stdin/stdout, for Claude Desktop, Claude Code, Cursor and other MCP clients",
		Long: `Serve the Model Context Protocol on stdin and stdout: tools to create
sandboxes, run code and commands, read, write and list files, download a URL
into a sandbox, expose a port, and kill sandboxes. The session's own
sandbox (made on first use) is killed when the session ends. The server and key are
found as by every other command (--server/--api-key, SOULBOX_API_URL /
SOULBOX_API_KEY, E2B_API_URL / E2B_API_KEY, soulbox auth login).

A server started with --mcp serves the same tools over streamable HTTP on
/mcp, authenticated with an API key.`,
		Example: `  claude mcp add soulbox -e SOULBOX_API_KEY=e2b_... -- soulbox mcp
  # Claude Desktop / Cursor: {"mcpServers": {"soulbox": {"command": "soulbox", "args": ["mcp"],
  #   "env": {"SOULBOX_API_URL": "http://127.0.0.1:3000", "SOULBOX_API_KEY": "e2b_..."}}}}`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := c.client()
			if err != nil {
				return err
			}
			api, err := soulbox.New(soulbox.Options{APIURL: cl.BaseURL, APIKey: cl.APIKey,
				SandboxURL: first(os.Getenv("E2B_SANDBOX_URL"), cl.BaseURL), Getenv: func(string) string { return "" }})
			if err != nil {
				return err
			}
			return mcpserver.RunStdio(cmd.Context(), api)
		},
	}
	c.flags(cmd)
	return cmd
}
