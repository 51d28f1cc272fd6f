// Package mcpserver is SoulBox's Model Context Protocol server: the tools
// of sdk/go/soulbox/tools (create sandboxes, run code and commands, move
// files, expose ports) for assistants such as Claude Desktop, Claude Code
// and Cursor, and sandboxes' files as resources. It drives sandboxes
// through the public Go SDK, so it needs nothing but a server URL and an
// API key; `soulbox mcp` serves it over stdio and `soulbox server --mcp`
// over streamable HTTP on /mcp.
//
// Each MCP session has its own tools.Runner, and so its own default
// sandbox: tools called without a sandbox_id use it, and the first such
// call creates it.
package mcpserver

import (
	"context"
	"errors"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/soulbox/soulbox/internal/version"
	"github.com/soulbox/soulbox/sdk/go/soulbox"
	"github.com/soulbox/soulbox/sdk/go/soulbox/tools"
)

// New returns the MCP server of one session, acting with client.
func New(client *soulbox.Client) *mcp.Server {
	s, _ := newServer(client, nil)
	return s
}

// RunStdio serves one session on stdin/stdout until the client closes it
// or ctx ends, then kills the session's default sandbox: a client that
// starts the server per conversation leaves nothing running behind it.
func RunStdio(ctx context.Context, client *soulbox.Client) error {
	s, r := newServer(client, nil)
	err := s.Run(ctx, &mcp.StdioTransport{})
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	return errors.Join(err, r.Close(cctx))
}

// newServer makes one session's server and its runner. onInit, if set,
// is called when the client has initialized the session.
func newServer(client *soulbox.Client, onInit func(*mcp.ServerSession, *tools.Runner)) (*mcp.Server, *tools.Runner) {
	r := tools.NewRunner(client)
	var init func(context.Context, *mcp.InitializedRequest)
	if onInit != nil {
		init = func(_ context.Context, req *mcp.InitializedRequest) { onInit(req.Session, r) }
	}
	s := mcp.NewServer(&mcp.Implementation{Name: "soulbox", Title: "SoulBox sandboxes", Version: version.Version}, &mcp.ServerOptions{
		Instructions: "SoulBox runs code in secure, disposable Linux sandboxes (Debian with Python 3 incl. numpy, pandas, matplotlib, and Node.js). " +
			"Use run_code for Python/JavaScript (state persists between calls; charts come back as images), run_command for shell commands, " +
			"and the file tools to move data in and out. Tools without sandbox_id use this session's sandbox, created on first use.",
		InitializedHandler: init,
	})
	for _, t := range tools.Definitions() {
		name := t.Name
		s.AddTool(&mcp.Tool{Name: t.Name, Description: t.Description, InputSchema: t.InputSchema, Annotations: annotations(t)},
			func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				return toMCP(r.Call(ctx, name, req.Params.Arguments)), nil
			})
	}
	addResources(s, r)
	return s, r
}

func annotations(t tools.Tool) *mcp.ToolAnnotations {
	a := &mcp.ToolAnnotations{ReadOnlyHint: t.ReadOnly}
	if t.Destructive {
		yes := true
		a.DestructiveHint = &yes
	}
	return a
}

// toMCP is a tool's result as MCP content: its text, its images, and its
// data as structured content.
func toMCP(res tools.Result) *mcp.CallToolResult {
	out := &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: res.Text}}, IsError: res.IsError}
	for _, img := range res.Images {
		out.Content = append(out.Content, &mcp.ImageContent{Data: img.Data, MIMEType: img.MIMEType})
	}
	if res.Structured != nil {
		out.StructuredContent = res.Structured
	}
	return out
}
