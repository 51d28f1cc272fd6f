package mcpserver

import (
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/soulbox/soulbox/sdk/go/soulbox"
)

// executionResult is what a model reads of an execution: one text block
// (output, results, error) and an image block per figure.
func executionResult(ex *soulbox.Execution) *mcp.CallToolResult {
	var b strings.Builder
	if s := strings.Join(ex.Stdout, ""); s != "" {
		fmt.Fprintf(&b, "stdout:\n%s\n", truncate(s))
	}
	if s := strings.Join(ex.Stderr, ""); s != "" {
		fmt.Fprintf(&b, "stderr:\n%s\n", truncate(s))
	}
	var images []mcp.Content
	for _, r := range ex.Results {
		png, _ := r.PNG()
		switch {
		case png != nil:
			images = append(images, &mcp.ImageContent{Data: png, MIMEType: "image/png"})
			desc := "figure"
			if r.Chart != nil {
				desc = fmt.Sprintf("%s chart %q", r.Chart.Type, r.Chart.Title)
			}
			fmt.Fprintf(&b, "result: a %s (image attached)\n", desc)
		case r.JPEGBase64 != "":
			if jpg, err := decodeB64(r.JPEGBase64); err == nil {
				images = append(images, &mcp.ImageContent{Data: jpg, MIMEType: "image/jpeg"})
				b.WriteString("result: an image (attached)\n")
			}
		case r.Text != "":
			label := "result"
			if r.IsMainResult {
				label = "value"
			}
			fmt.Fprintf(&b, "%s: %s\n", label, truncate(r.Text))
		case r.HTML != "" || r.Markdown != "" || len(r.JSON) > 0:
			fmt.Fprintf(&b, "result formats: %s\n", strings.Join(r.Formats(), ", "))
		}
	}
	res := &mcp.CallToolResult{}
	if ex.Error != nil {
		fmt.Fprintf(&b, "error: %s: %s\n%s\n", ex.Error.Name, ex.Error.Value, truncate(ex.Error.Traceback))
		res.IsError = true
	}
	if b.Len() == 0 {
		b.WriteString("(no output)")
	}
	res.Content = append([]mcp.Content{&mcp.TextContent{Text: strings.TrimRight(b.String(), "\n")}}, images...)
	return res
}

// fileContent is a file for a model: text as text, images as images,
// other bytes described.
func fileContent(path string, b []byte) *mcp.CallToolResult {
	switch ct := http.DetectContentType(b); {
	case ct == "image/png" || ct == "image/jpeg" || ct == "image/gif" || ct == "image/webp":
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: fmt.Sprintf("%s: %s, %d bytes (attached)", path, ct, len(b))}, &mcp.ImageContent{Data: b, MIMEType: ct}}}
	case utf8.Valid(b):
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: string(b)}}}
	default:
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: fmt.Sprintf("%s is binary (%s, %d bytes); inspect it with run_command (file, xxd, python)", path, ct, len(b))}}}
	}
}

// truncate keeps a text within maxText, saying what was cut.
func truncate(s string) string {
	if len(s) <= maxText {
		return s
	}
	return s[:maxText] + fmt.Sprintf("\n[... %d more bytes cut]", len(s)-maxText)
}
