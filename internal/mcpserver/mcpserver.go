// Package mcpserver is SoulBox's Model Context Protocol server: tools
// that let an assistant (Claude Desktop, Claude Code, Cursor, any MCP
// client) create sandboxes, run code and commands in them, move files and
// expose ports. It drives sandboxes through the public Go SDK, so it
// needs nothing but a server URL and an API key; `soulbox mcp` serves it
// over stdio and `soulbox server --mcp` over streamable HTTP on /mcp.
//
// Each MCP session keeps a default sandbox: tools called without a
// sandbox_id use it, and the first such call creates it, so an assistant
// does not have to juggle IDs.
package mcpserver

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/soulbox/soulbox/internal/version"
	"github.com/soulbox/soulbox/sdk/go/soulbox"
)

// Limits on what a model may send and get back; a call past them is a
// tool error that says the limit.
const (
	// maxCode bounds the code of run_code and the command of run_command.
	maxCode = 256 << 10
	// maxFileWrite bounds the content of write_file.
	maxFileWrite = 8 << 20
	// maxText bounds each text stream returned to the model.
	maxText = 64 << 10
	// maxFileRead bounds what read_file returns.
	maxFileRead = 1 << 20
)

// New returns the MCP server of one session, acting with client.
func New(client *soulbox.Client) *mcp.Server {
	s := mcp.NewServer(&mcp.Implementation{Name: "soulbox", Title: "SoulBox sandboxes", Version: version.Version}, &mcp.ServerOptions{
		Instructions: "SoulBox runs code in secure, disposable Linux sandboxes (Debian with Python 3 incl. numpy, pandas, matplotlib, and Node.js). " +
			"Use run_code for Python/JavaScript (state persists between calls; charts come back as images), run_command for shell commands, " +
			"and the file tools to move data in and out. Tools without sandbox_id use this session's sandbox, created on first use.",
	})
	ss := &session{client: client, sandboxes: map[string]*soulbox.Sandbox{}}
	addTools(s, ss)
	addResources(s, ss)
	return s
}

// session is the state of one MCP session: its default sandbox and the
// handles it has opened.
type session struct {
	client *soulbox.Client

	mu        sync.Mutex
	def       string // default sandbox ID
	sandboxes map[string]*soulbox.Sandbox
}

// sandbox returns the handle of id, or of the session's default sandbox
// (created when there is none) when id is empty.
func (ss *session) sandbox(ctx context.Context, id string) (*soulbox.Sandbox, error) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if id == "" {
		id = ss.def
	}
	if sb, ok := ss.sandboxes[id]; ok {
		return sb, nil
	}
	if id == "" {
		sb, err := ss.client.Create(ctx, "", soulbox.CreateOptions{Timeout: 15 * time.Minute, Metadata: map[string]string{"created-by": "mcp"}})
		if err != nil {
			return nil, fmt.Errorf("create the session's sandbox: %w", err)
		}
		ss.sandboxes[sb.ID] = sb
		ss.def = sb.ID
		return sb, nil
	}
	sb, err := ss.client.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	ss.sandboxes[id] = sb
	return sb, nil
}

// adopt makes sb known to the session and, when def, its default.
func (ss *session) adopt(sb *soulbox.Sandbox, def bool) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.sandboxes[sb.ID] = sb
	if def {
		ss.def = sb.ID
	}
}

// forget drops a killed sandbox.
func (ss *session) forget(id string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	delete(ss.sandboxes, id)
	if ss.def == id {
		ss.def = ""
	}
}
