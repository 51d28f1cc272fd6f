package mcpserver

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/soulbox/soulbox/sdk/go/soulbox/tools"
)

// addResources exposes sandboxes' files as resources:
// soulbox://sandbox/<id>/<path>.
func addResources(s *mcp.Server, r *tools.Runner) {
	s.AddResourceTemplate(&mcp.ResourceTemplate{
		Name:        "sandbox-file",
		Title:       "A file in a sandbox",
		Description: "The content of a file of a sandbox; path is absolute without its leading slash.",
		URITemplate: "soulbox://sandbox/{sandbox_id}/{+path}",
	}, func(ctx context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
		return readResource(ctx, r, req)
	})
}

func readResource(ctx context.Context, r *tools.Runner, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
	u, err := url.Parse(req.Params.URI)
	if err != nil || u.Scheme != "soulbox" || u.Host != "sandbox" {
		return nil, mcp.ResourceNotFoundError(req.Params.URI)
	}
	id, path, ok := strings.Cut(strings.TrimPrefix(u.Path, "/"), "/")
	if !ok || id == "" || path == "" {
		return nil, mcp.ResourceNotFoundError(req.Params.URI)
	}
	sb, err := r.Sandbox(ctx, id)
	if err != nil {
		return nil, err
	}
	st, err := sb.Files.Stat(ctx, "/"+path, nil)
	if err != nil {
		return nil, mcp.ResourceNotFoundError(req.Params.URI)
	}
	if st.Size > tools.MaxFileRead {
		return nil, &sizeError{}
	}
	b, err := sb.Files.ReadFile(ctx, "/"+path, nil)
	if err != nil {
		return nil, err
	}
	rc := &mcp.ResourceContents{URI: req.Params.URI, MIMEType: http.DetectContentType(b)}
	if utf8.Valid(b) {
		rc.Text = string(b)
	} else {
		rc.Blob = b
	}
	return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{rc}}, nil
}

type sizeError struct{}

func (*sizeError) Error() string { return "the file is over 1 MiB; read a part with run_command" }
