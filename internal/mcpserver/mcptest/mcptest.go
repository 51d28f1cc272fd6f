// Package mcptest is the suite every transport of SoulBox's MCP server
// passes: a real MCP client session drives the tools against a real
// server, as an assistant would, bad arguments included.
package mcptest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/soulbox/soulbox/sdk/go/soulbox"
)

// Tools are the tools every transport offers.
var Tools = []string{"create_sandbox", "expose_port", "kill_sandbox", "list_files", "read_file", "run_code", "run_command", "upload_from_url", "write_file"}

// Run drives cs against the server at apiURL (whose key is apiKey, for
// checks through the Go SDK).
func Run(t *testing.T, cs *mcp.ClientSession, apiURL, apiKey string) {
	ctx := context.Background()
	sdk, err := soulbox.New(soulbox.Options{APIURL: apiURL, APIKey: apiKey, Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("ToolsAreDescribed", func(t *testing.T) {
		res, err := cs.ListTools(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, tool := range res.Tools {
			names = append(names, tool.Name)
			if len(tool.Description) < 80 || tool.InputSchema == nil {
				t.Errorf("tool %s: description %q too thin for a model, or no schema", tool.Name, tool.Description)
			}
		}
		slices.Sort(names)
		if !slices.Equal(names, Tools) {
			t.Errorf("tools %v, want %v", names, Tools)
		}
	})

	var defaultID string
	t.Run("DefaultSandboxKeepsState", func(t *testing.T) {
		text(t, call(t, cs, "run_code", map[string]any{"code": "x = 41"}, false))
		if got := text(t, call(t, cs, "run_code", map[string]any{"code": "x + 1"}, false)); got != "value: 42" {
			t.Errorf("run_code x + 1 = %q", got)
		}
		res := call(t, cs, "run_command", map[string]any{"command": "echo hi; echo oops >&2; exit 3"}, false)
		var out struct {
			Stdout, Stderr string
			ExitCode       int `json:"exit_code"`
		}
		structured(t, res, &out)
		if out.Stdout != "hi\n" || out.Stderr != "oops\n" || out.ExitCode != 3 {
			t.Errorf("run_command = %+v", out)
		}
		var list []string
		for info, err := range sdk.List(ctx, &soulbox.ListOptions{Metadata: map[string]string{"created-by": "soulbox-tools"}}) {
			if err != nil {
				t.Fatal(err)
			}
			list = append(list, info.SandboxID)
		}
		if len(list) != 1 {
			t.Fatalf("the session made sandboxes %v, want one", list)
		}
		defaultID = list[0]
	})

	t.Run("ChartIsAnImage", func(t *testing.T) {
		res := call(t, cs, "run_code", map[string]any{"code": "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3], [2, 4, 8])\nplt.title('growth')\nplt.show()"}, false)
		var img *mcp.ImageContent
		for _, c := range res.Content {
			if i, ok := c.(*mcp.ImageContent); ok {
				img = i
			}
		}
		if img == nil || img.MIMEType != "image/png" || !bytes.HasPrefix(img.Data, []byte("\x89PNG\r\n\x1a\n")) {
			t.Fatalf("no PNG image in %s", dump(res))
		}
		if s := text(t, res); !strings.Contains(s, `line chart "growth"`) {
			t.Errorf("text %q does not describe the chart", s)
		}
	})

	t.Run("Files", func(t *testing.T) {
		call(t, cs, "write_file", map[string]any{"path": "srv/notes.txt", "content": "line one\n"}, false)
		if got := text(t, call(t, cs, "read_file", map[string]any{"path": "/home/user/srv/notes.txt"}, false)); got != "line one\n" {
			t.Errorf("read_file = %q", got)
		}
		var list struct {
			Entries []struct{ Path, Type string }
		}
		structured(t, call(t, cs, "list_files", map[string]any{"path": "srv"}, false), &list)
		if len(list.Entries) != 1 || list.Entries[0].Path != "/home/user/srv/notes.txt" || list.Entries[0].Type != "file" {
			t.Errorf("list_files = %+v", list)
		}
		rr, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "soulbox://sandbox/" + defaultID + "/home/user/srv/notes.txt"})
		if err != nil || len(rr.Contents) != 1 || rr.Contents[0].Text != "line one\n" {
			t.Errorf("resource = %+v, %v", rr, err)
		}
	})

	t.Run("PortAndURL", func(t *testing.T) {
		var started struct{ PID int }
		structured(t, call(t, cs, "run_command", map[string]any{"command": "cd srv && exec python3 -m http.server 8000 --bind 0.0.0.0", "background": true}, false), &started)
		if started.PID == 0 {
			t.Fatal("background run_command returned no pid")
		}
		var port struct{ URL string }
		structured(t, call(t, cs, "expose_port", map[string]any{"port": 8000}, false), &port)
		u, err := url.Parse(port.URL)
		if err != nil || !strings.HasPrefix(u.Host, "8000-"+defaultID+".") {
			t.Fatalf("expose_port URL %q", port.URL)
		}
		// The URL's host names the sandbox; the server answers it on its
		// own address (a *.localhost name resolves to loopback in
		// browsers, not necessarily here).
		api, _ := url.Parse(apiURL)
		body := ""
		for range 50 {
			req, _ := http.NewRequest("GET", "http://"+api.Host+"/notes.txt", nil)
			req.Host = u.Host
			if resp, err := http.DefaultClient.Do(req); err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 200 {
					body = string(b)
					break
				}
			}
			time.Sleep(100 * time.Millisecond)
		}
		if body != "line one\n" {
			t.Errorf("GET through the exposed port: %q", body)
		}
		// upload_from_url fetches from inside the sandbox: here, the
		// server the sandbox itself runs.
		var up struct {
			Path  string
			Bytes int
		}
		structured(t, call(t, cs, "upload_from_url", map[string]any{"url": "http://127.0.0.1:8000/notes.txt", "path": "copies/notes.txt"}, false), &up)
		if up.Bytes != 9 {
			t.Errorf("upload_from_url = %+v", up)
		}
		if got := text(t, call(t, cs, "read_file", map[string]any{"path": "copies/notes.txt"}, false)); got != "line one\n" {
			t.Errorf("the downloaded copy = %q", got)
		}
		if s := text(t, call(t, cs, "upload_from_url", map[string]any{"url": "http://127.0.0.1:8000/missing", "path": "x"}, true)); !strings.Contains(s, "download failed") {
			t.Errorf("a 404 download said %q", s)
		}
	})

	t.Run("BadArgumentsAreToolErrors", func(t *testing.T) {
		for _, tc := range []struct {
			tool string
			args map[string]any
			want string
		}{
			{"run_code", map[string]any{"code": 42}, "code"},
			{"run_code", map[string]any{}, "code"},
			{"run_code", map[string]any{"code": strings.Repeat("x", 300<<10)}, "limit"},
			{"run_code", map[string]any{"code": "1", "language": "cobol"}, "python or javascript"},
			{"run_code", map[string]any{"code": "1", "sandbox_id": "inosuchsandbox"}, "not found"},
			{"run_command", map[string]any{"command": ""}, "empty"},
			{"run_command", map[string]any{"command": "sleep 60", "timeout_seconds": 1}, "did not finish"},
			{"read_file", map[string]any{"path": "/no/such/file"}, "not found"},
			{"read_file", map[string]any{"path": "/home"}, "directory"},
			{"list_files", map[string]any{"path": "/tmp", "depth": "deep"}, "depth"},
			{"expose_port", map[string]any{"port": 0}, "1 to 65535"},
			{"upload_from_url", map[string]any{"url": "file:///etc/passwd", "path": "x"}, "http"},
			{"create_sandbox", map[string]any{"timeout_seconds": -5}, "timeout_seconds"},
			{"create_sandbox", map[string]any{"template": "no-such-template"}, "no-such-template"},
		} {
			if s := text(t, call(t, cs, tc.tool, tc.args, true)); !strings.Contains(s, tc.want) {
				t.Errorf("%s %.80v: error %q does not say %q", tc.tool, tc.args, s, tc.want)
			}
		}
		// The session still works.
		if got := text(t, call(t, cs, "run_code", map[string]any{"code": "x"}, false)); got != "value: 41" {
			t.Errorf("after the bad calls, x = %q", got)
		}
		if s := text(t, call(t, cs, "run_code", map[string]any{"code": "1/0"}, true)); !strings.Contains(s, "ZeroDivisionError") {
			t.Errorf("an exception reads %q", s)
		}
	})

	t.Run("Kill", func(t *testing.T) {
		var k struct{ Killed string }
		structured(t, call(t, cs, "kill_sandbox", map[string]any{}, false), &k)
		if k.Killed != defaultID {
			t.Errorf("killed %q, want the default %q", k.Killed, defaultID)
		}
		if _, err := sdk.GetInfo(ctx, defaultID); !errors.Is(err, soulbox.ErrNotFound) {
			t.Errorf("the killed sandbox: %v", err)
		}
		var c struct {
			SandboxID string `json:"sandbox_id"`
		}
		structured(t, call(t, cs, "create_sandbox", map[string]any{"timeout_seconds": 120}, false), &c)
		if got := text(t, call(t, cs, "run_command", map[string]any{"command": "hostname"}, false)); c.SandboxID == "" || got == "" {
			t.Errorf("create_sandbox %q then run_command %q", c.SandboxID, got)
		}
		structured(t, call(t, cs, "kill_sandbox", map[string]any{"sandbox_id": c.SandboxID}, false), &k)
	})
}

// call calls a tool; the call itself must succeed (errors are results the
// model reads), with IsError as wantErr says.
func call(t *testing.T, cs *mcp.ClientSession, tool string, args map[string]any, wantErr bool) *mcp.CallToolResult {
	t.Helper()
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: tool, Arguments: args})
	if err != nil {
		t.Fatalf("%s: protocol error %v (a model could not read it)", tool, err)
	}
	if res.IsError != wantErr {
		t.Fatalf("%s %.200v: IsError %v, want %v: %s", tool, args, res.IsError, wantErr, dump(res))
	}
	return res
}

// text is the result's first text block.
func text(t *testing.T, res *mcp.CallToolResult) string {
	t.Helper()
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			return tc.Text
		}
	}
	t.Fatalf("no text in %s", dump(res))
	return ""
}

// structured decodes the result's structured content into v.
func structured(t *testing.T, res *mcp.CallToolResult, v any) {
	t.Helper()
	b, err := json.Marshal(res.StructuredContent)
	if err == nil {
		err = json.Unmarshal(b, v)
	}
	if err != nil || res.StructuredContent == nil {
		t.Fatalf("structured content of %s: %v", dump(res), err)
	}
}

func dump(res *mcp.CallToolResult) string {
	b, _ := json.Marshal(res)
	if len(b) > 2000 {
		b = append(b[:2000], "..."...)
	}
	return string(b)
}
