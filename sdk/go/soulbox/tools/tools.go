// Package tools gives a language model SoulBox sandboxes as tools: their
// definitions for function calling (OpenAI, Anthropic, plain JSON
// Schema), and a Runner that executes a model's tool call against a
// SoulBox server and turns the outcome into message content.
//
// A Runner keeps a default sandbox: calls without a sandbox_id use it,
// and the first such call creates it, so a model does not have to juggle
// IDs. Bad arguments (wrong types, missing fields, code over 256 KiB) are
// results with IsError set and a message the model can act on, never Go
// errors or panics.
//
// The same tools are what SoulBox's MCP server offers.
package tools

import (
	"encoding/json"
	"fmt"

	"github.com/google/jsonschema-go/jsonschema"
)

// Tool is a tool's definition for a model.
type Tool struct {
	Name        string
	Description string
	// InputSchema is the JSON Schema of the arguments (an object).
	InputSchema map[string]any
	// ReadOnly tools change nothing; Destructive ones delete.
	ReadOnly, Destructive bool
}

// Limits on what a model may send and get back; a call past them is a
// tool error that says the limit.
const (
	// MaxCode bounds the code of run_code and the command of run_command.
	MaxCode = 256 << 10
	// MaxFileWrite bounds the content of write_file.
	MaxFileWrite = 8 << 20
	// MaxText bounds each text stream returned to the model.
	MaxText = 64 << 10
	// MaxFileRead bounds what read_file returns.
	MaxFileRead = 1 << 20
)

// Definitions returns the tools, described for models: what each does,
// when to use it, and its limits.
func Definitions() []Tool {
	return []Tool{
		def[CreateInput]("create_sandbox", "Create a new, isolated Linux sandbox (Debian, Python 3 with numpy/pandas/matplotlib, Node.js, bash, git, curl) and make it the default for later calls. "+
			"You rarely need this: the other tools create a sandbox on first use. Use it for a fresh machine, a different template, or a longer life. "+
			"The sandbox is deleted after timeout_seconds (default 900, at most 86400).", false, false),
		def[RunCodeInput]("run_code", "Run Python (default) or JavaScript code in a stateful interpreter inside the sandbox, like a Jupyter notebook cell: variables, imports and files persist between calls. "+
			"Returns printed output, the value of the last expression, errors with their traceback, and figures (matplotlib plt.show()) as PNG images. "+
			"Use it for calculations, data analysis and charts. Code is at most 256 KiB; long output is truncated to 64 KiB per stream; a cell is interrupted after timeout_seconds (default 300).", false, false),
		def[RunCommandInput]("run_command", "Run a shell command with bash in the sandbox and return its stdout, stderr and exit code. "+
			"Use it to install packages (pip install, npm install; sudo for system packages), run programs, git, and inspect the system. "+
			"The command is killed after timeout_seconds (default 120). With background true it is started and left running (e.g. a web server), and its process id is returned.", false, false),
		def[PathInput]("read_file", "Read a file of the sandbox. Text comes back as text, PNG/JPEG images as images; other binary files are described, not returned. At most 1 MiB is returned.", true, false),
		def[WriteInput]("write_file", "Write text to a file in the sandbox, creating its directories and replacing what was there. Relative paths are under /home/user. At most 8 MiB.", false, false),
		def[ListInput]("list_files", "List a directory of the sandbox: path, type (file or dir) and size of each entry. depth 2 or more descends into subdirectories.", true, false),
		def[URLInput]("upload_from_url", "Download a URL into a file of the sandbox, from inside the sandbox (the sandbox's own network access applies). Use it to bring data sets or archives in without passing their bytes through the conversation.", false, false),
		def[PortInput]("expose_port", "Return the URL that reaches a server listening on a TCP port inside the sandbox (start it first with run_command background true, listening on 0.0.0.0). "+
			"Give the URL to the user to open the app.", true, false),
		def[KillInput]("kill_sandbox", "Delete a sandbox and everything in it, now. Without sandbox_id, the default sandbox; the next tool call then creates a fresh one.", false, true),
	}
}

func def[In any](name, desc string, readOnly, destructive bool) Tool {
	s, err := jsonschema.For[In](nil)
	if err != nil {
		panic(fmt.Sprintf("tool %s: %v", name, err)) // a programming error, caught by the tests
	}
	b, _ := json.Marshal(s)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return Tool{Name: name, Description: desc, InputSchema: m, ReadOnly: readOnly, Destructive: destructive}
}

// OpenAI returns the tools in the shape of OpenAI's Chat Completions
// `tools` parameter: [{"type": "function", "function": {name,
// description, parameters}}].
func OpenAI(ts []Tool) []map[string]any {
	out := make([]map[string]any, 0, len(ts))
	for _, t := range ts {
		out = append(out, map[string]any{"type": "function", "function": map[string]any{"name": t.Name, "description": t.Description, "parameters": t.InputSchema}})
	}
	return out
}

// Anthropic returns the tools in the shape of Anthropic's Messages API
// `tools` parameter: [{name, description, input_schema}].
func Anthropic(ts []Tool) []map[string]any {
	out := make([]map[string]any, 0, len(ts))
	for _, t := range ts {
		out = append(out, map[string]any{"name": t.Name, "description": t.Description, "input_schema": t.InputSchema})
	}
	return out
}

// JSONSchema returns the tools as plain {name, description, inputSchema}
// objects (MCP's shape), for frameworks that take JSON Schema.
func JSONSchema(ts []Tool) []map[string]any {
	out := make([]map[string]any, 0, len(ts))
	for _, t := range ts {
		out = append(out, map[string]any{"name": t.Name, "description": t.Description, "inputSchema": t.InputSchema})
	}
	return out
}
