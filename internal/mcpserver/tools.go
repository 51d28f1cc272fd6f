package mcpserver

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/soulbox/soulbox/sdk/go/soulbox"
)

// Tools are named and described for models: what the tool does, when to
// use it, and its limits.
func addTools(s *mcp.Server, ss *session) {
	mcp.AddTool(s, &mcp.Tool{
		Name: "create_sandbox",
		Description: "Create a new, isolated Linux sandbox (Debian, Python 3 with numpy/pandas/matplotlib, Node.js, bash, git, curl) and make it this session's default. " +
			"You rarely need this: the other tools create a sandbox on first use. Use it for a fresh machine, a different template, or a longer life. " +
			"The sandbox is deleted after timeout_seconds (default 900, at most 86400).",
		Annotations: &mcp.ToolAnnotations{OpenWorldHint: new(false)},
	}, ss.createSandbox)
	mcp.AddTool(s, &mcp.Tool{
		Name: "run_code",
		Description: "Run Python (default) or JavaScript code in a stateful interpreter inside the sandbox, like a Jupyter notebook cell: variables, imports and files persist between calls. " +
			"Returns printed output, the value of the last expression, errors with their traceback, and figures (matplotlib plt.show()) as PNG images. " +
			"Use it for calculations, data analysis and charts. Code is at most 256 KiB; long output is truncated to 64 KiB per stream; a cell is interrupted after timeout_seconds (default 300).",
	}, ss.runCode)
	mcp.AddTool(s, &mcp.Tool{
		Name: "run_command",
		Description: "Run a shell command with bash in the sandbox and return its stdout, stderr and exit code. " +
			"Use it to install packages (pip install, npm install, apt is not available to the default user; use sudo), run programs, git, and inspect the system. " +
			"The command is killed after timeout_seconds (default 120). With background true it is started and left running (e.g. a web server), and its process id is returned.",
	}, ss.runCommand)
	mcp.AddTool(s, &mcp.Tool{
		Name:        "read_file",
		Description: "Read a file of the sandbox. Text comes back as text, PNG/JPEG images as images; other binary files are described, not returned. At most 1 MiB is returned.",
		Annotations: &mcp.ToolAnnotations{ReadOnlyHint: true},
	}, ss.readFile)
	mcp.AddTool(s, &mcp.Tool{
		Name:        "write_file",
		Description: "Write text to a file in the sandbox, creating its directories and replacing what was there. Relative paths are under /home/user. At most 8 MiB.",
	}, ss.writeFile)
	mcp.AddTool(s, &mcp.Tool{
		Name:        "list_files",
		Description: "List a directory of the sandbox: name, type (file or dir), size and path of each entry. depth 2 or more descends into subdirectories.",
		Annotations: &mcp.ToolAnnotations{ReadOnlyHint: true},
	}, ss.listFiles)
	mcp.AddTool(s, &mcp.Tool{
		Name:        "upload_from_url",
		Description: "Download a URL into a file of the sandbox, from inside the sandbox (the sandbox's own network access applies). Use it to bring data sets or archives in without passing their bytes through the conversation.",
	}, ss.uploadFromURL)
	mcp.AddTool(s, &mcp.Tool{
		Name: "expose_port",
		Description: "Return the URL that reaches a server listening on a TCP port inside the sandbox (start it first with run_command background true, listening on 0.0.0.0). " +
			"Give the URL to the user to open the app.",
		Annotations: &mcp.ToolAnnotations{ReadOnlyHint: true},
	}, ss.exposePort)
	mcp.AddTool(s, &mcp.Tool{
		Name:        "kill_sandbox",
		Description: "Delete a sandbox and everything in it, now. Without sandbox_id, the session's default sandbox; the next tool call then creates a fresh one.",
		Annotations: &mcp.ToolAnnotations{DestructiveHint: new(true)},
	}, ss.killSandbox)
}

// CreateInput are the arguments of create_sandbox.
type CreateInput struct {
	Template       string `json:"template,omitempty" jsonschema:"template name; default base"`
	TimeoutSeconds int    `json:"timeout_seconds,omitempty" jsonschema:"seconds until the sandbox is deleted; default 900, 1 to 86400"`
}

// SandboxOutput names a sandbox.
type SandboxOutput struct {
	SandboxID string `json:"sandbox_id"`
	Template  string `json:"template"`
}

func (ss *session) createSandbox(ctx context.Context, _ *mcp.CallToolRequest, in CreateInput) (*mcp.CallToolResult, SandboxOutput, error) {
	if in.TimeoutSeconds < 0 || in.TimeoutSeconds > 86400 {
		return nil, SandboxOutput{}, fmt.Errorf("timeout_seconds %d: use 1 to 86400", in.TimeoutSeconds)
	}
	timeout := 15 * time.Minute
	if in.TimeoutSeconds > 0 {
		timeout = time.Duration(in.TimeoutSeconds) * time.Second
	}
	sb, err := ss.client.Create(ctx, in.Template, soulbox.CreateOptions{Timeout: timeout, Metadata: map[string]string{"created-by": "mcp"}})
	if err != nil {
		return nil, SandboxOutput{}, err
	}
	ss.adopt(sb, true)
	return nil, SandboxOutput{SandboxID: sb.ID, Template: sb.Info().TemplateID}, nil
}

// RunCodeInput are the arguments of run_code.
type RunCodeInput struct {
	Code           string `json:"code" jsonschema:"the code to run"`
	Language       string `json:"language,omitempty" jsonschema:"python (default) or javascript"`
	SandboxID      string `json:"sandbox_id,omitempty" jsonschema:"sandbox to run in; default this session's"`
	TimeoutSeconds int    `json:"timeout_seconds,omitempty" jsonschema:"interrupt the code after this many seconds; default 300"`
}

func (ss *session) runCode(ctx context.Context, _ *mcp.CallToolRequest, in RunCodeInput) (*mcp.CallToolResult, any, error) {
	if strings.TrimSpace(in.Code) == "" {
		return nil, nil, errors.New("code is empty: give the code to run")
	}
	if len(in.Code) > maxCode {
		return nil, nil, fmt.Errorf("code is %d bytes, over the limit of %d: write it to a file with write_file and run that file instead", len(in.Code), maxCode)
	}
	lang := strings.ToLower(in.Language)
	switch lang {
	case "", "python", "javascript", "js":
		if lang == "js" {
			lang = "javascript"
		}
	default:
		return nil, nil, fmt.Errorf("language %q: use python or javascript", in.Language)
	}
	ctx, cancel := context.WithTimeout(ctx, seconds(in.TimeoutSeconds, 300))
	defer cancel()
	sb, err := ss.sandbox(ctx, in.SandboxID)
	if err != nil {
		return nil, nil, err
	}
	ex, err := sb.RunCode(ctx, in.Code, &soulbox.RunCodeOptions{Language: lang})
	if err != nil {
		return nil, nil, err
	}
	return executionResult(ex), nil, nil
}

// RunCommandInput are the arguments of run_command.
type RunCommandInput struct {
	Command        string `json:"command" jsonschema:"the command line, run with bash -l -c"`
	Cwd            string `json:"cwd,omitempty" jsonschema:"working directory; default /home/user"`
	Background     bool   `json:"background,omitempty" jsonschema:"start it and return at once, leaving it running"`
	SandboxID      string `json:"sandbox_id,omitempty" jsonschema:"sandbox to run in; default this session's"`
	TimeoutSeconds int    `json:"timeout_seconds,omitempty" jsonschema:"kill the command after this many seconds; default 120"`
}

// CommandOutput is what run_command returns.
type CommandOutput struct {
	Stdout   string `json:"stdout"`
	Stderr   string `json:"stderr"`
	ExitCode int    `json:"exit_code"`
	PID      uint32 `json:"pid,omitempty"`
}

func (ss *session) runCommand(ctx context.Context, _ *mcp.CallToolRequest, in RunCommandInput) (*mcp.CallToolResult, CommandOutput, error) {
	if strings.TrimSpace(in.Command) == "" {
		return nil, CommandOutput{}, errors.New("command is empty: give the command line to run")
	}
	if len(in.Command) > maxCode {
		return nil, CommandOutput{}, fmt.Errorf("command is %d bytes, over the limit of %d: write a script with write_file and run it", len(in.Command), maxCode)
	}
	sb, err := ss.sandbox(ctx, in.SandboxID)
	if err != nil {
		return nil, CommandOutput{}, err
	}
	if in.Background {
		// Detached from this call: it runs until it ends or the sandbox does.
		h, err := sb.Commands.Start(context.WithoutCancel(ctx), in.Command, &soulbox.RunOptions{Cwd: in.Cwd})
		if err != nil {
			return nil, CommandOutput{}, err
		}
		h.Disconnect()
		return nil, CommandOutput{PID: h.PID}, nil
	}
	ctx, cancel := context.WithTimeout(ctx, seconds(in.TimeoutSeconds, 120))
	defer cancel()
	res, err := sb.Commands.Run(ctx, in.Command, &soulbox.RunOptions{Cwd: in.Cwd})
	var exit *soulbox.ExitError
	if err != nil && !errors.As(err, &exit) {
		if errors.Is(err, soulbox.ErrTimeout) {
			return nil, CommandOutput{}, fmt.Errorf("the command did not finish in %s and was killed; use background true for servers and long jobs", seconds(in.TimeoutSeconds, 120))
		}
		return nil, CommandOutput{}, err
	}
	return nil, CommandOutput{Stdout: truncate(res.Stdout), Stderr: truncate(res.Stderr), ExitCode: res.ExitCode}, nil
}

// PathInput names a path of a sandbox.
type PathInput struct {
	Path      string `json:"path" jsonschema:"absolute path, or relative to /home/user"`
	SandboxID string `json:"sandbox_id,omitempty" jsonschema:"sandbox; default this session's"`
}

func (ss *session) readFile(ctx context.Context, _ *mcp.CallToolRequest, in PathInput) (*mcp.CallToolResult, any, error) {
	if in.Path == "" {
		return nil, nil, errors.New("path is empty: give the file to read")
	}
	sb, err := ss.sandbox(ctx, in.SandboxID)
	if err != nil {
		return nil, nil, err
	}
	st, err := sb.Files.Stat(ctx, in.Path, nil)
	if err != nil {
		return nil, nil, err
	}
	if st.Type == soulbox.TypeDir {
		return nil, nil, fmt.Errorf("%s is a directory: use list_files", st.Path)
	}
	if st.Size > maxFileRead {
		return nil, nil, fmt.Errorf("%s is %d bytes, over the %d this tool returns: read a part with run_command (head, tail, grep)", st.Path, st.Size, maxFileRead)
	}
	b, err := sb.Files.ReadFile(ctx, in.Path, nil)
	if err != nil {
		return nil, nil, err
	}
	return fileContent(st.Path, b), nil, nil
}

// WriteInput are the arguments of write_file.
type WriteInput struct {
	Path      string `json:"path" jsonschema:"absolute path, or relative to /home/user"`
	Content   string `json:"content" jsonschema:"the file's new content (text)"`
	SandboxID string `json:"sandbox_id,omitempty" jsonschema:"sandbox; default this session's"`
}

// WriteOutput is what write_file returns.
type WriteOutput struct {
	Path  string `json:"path"`
	Bytes int    `json:"bytes"`
}

func (ss *session) writeFile(ctx context.Context, _ *mcp.CallToolRequest, in WriteInput) (*mcp.CallToolResult, WriteOutput, error) {
	if in.Path == "" {
		return nil, WriteOutput{}, errors.New("path is empty: give the file to write")
	}
	if len(in.Content) > maxFileWrite {
		return nil, WriteOutput{}, fmt.Errorf("content is %d bytes, over the limit of %d: use upload_from_url for large data", len(in.Content), maxFileWrite)
	}
	sb, err := ss.sandbox(ctx, in.SandboxID)
	if err != nil {
		return nil, WriteOutput{}, err
	}
	info, err := sb.Files.WriteFile(ctx, in.Path, []byte(in.Content), nil)
	if err != nil {
		return nil, WriteOutput{}, err
	}
	return nil, WriteOutput{Path: info.Path, Bytes: len(in.Content)}, nil
}

// ListInput are the arguments of list_files.
type ListInput struct {
	Path      string `json:"path,omitempty" jsonschema:"directory; default /home/user"`
	Depth     int    `json:"depth,omitempty" jsonschema:"levels to descend; default 1, at most 5"`
	SandboxID string `json:"sandbox_id,omitempty" jsonschema:"sandbox; default this session's"`
}

// ListOutput is what list_files returns.
type ListOutput struct {
	Entries []Entry `json:"entries"`
}

// Entry is one entry of list_files.
type Entry struct {
	Path string `json:"path"`
	Type string `json:"type"`
	Size int64  `json:"size"`
}

func (ss *session) listFiles(ctx context.Context, _ *mcp.CallToolRequest, in ListInput) (*mcp.CallToolResult, ListOutput, error) {
	if in.Depth < 0 || in.Depth > 5 {
		return nil, ListOutput{}, fmt.Errorf("depth %d: use 1 to 5", in.Depth)
	}
	if in.Path == "" {
		in.Path = "/home/user"
	}
	sb, err := ss.sandbox(ctx, in.SandboxID)
	if err != nil {
		return nil, ListOutput{}, err
	}
	list, err := sb.Files.List(ctx, in.Path, uint32(in.Depth), nil)
	if err != nil {
		return nil, ListOutput{}, err
	}
	out := ListOutput{Entries: make([]Entry, 0, len(list))}
	for _, e := range list {
		out.Entries = append(out.Entries, Entry{Path: e.Path, Type: string(e.Type), Size: e.Size})
	}
	return nil, out, nil
}

// URLInput are the arguments of upload_from_url.
type URLInput struct {
	URL       string `json:"url" jsonschema:"http or https URL to download"`
	Path      string `json:"path" jsonschema:"file to write, absolute or relative to /home/user"`
	SandboxID string `json:"sandbox_id,omitempty" jsonschema:"sandbox; default this session's"`
}

func (ss *session) uploadFromURL(ctx context.Context, _ *mcp.CallToolRequest, in URLInput) (*mcp.CallToolResult, WriteOutput, error) {
	if !strings.HasPrefix(in.URL, "http://") && !strings.HasPrefix(in.URL, "https://") {
		return nil, WriteOutput{}, fmt.Errorf("url %q: give an http:// or https:// URL", in.URL)
	}
	if in.Path == "" {
		return nil, WriteOutput{}, errors.New("path is empty: give the file to write")
	}
	sb, err := ss.sandbox(ctx, in.SandboxID)
	if err != nil {
		return nil, WriteOutput{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	// curl's arguments go as argv, not through a shell: the URL and path
	// are never interpreted.
	h, err := sb.Commands.Exec(ctx, []string{"curl", "-fsSL", "--create-dirs", "-o", in.Path, "-w", "%{size_download}", "--", in.URL}, nil)
	if err != nil {
		return nil, WriteOutput{}, err
	}
	res, err := h.Wait()
	if err != nil {
		if res != nil {
			return nil, WriteOutput{}, fmt.Errorf("download failed (curl exit %d): %s", res.ExitCode, strings.TrimSpace(res.Stderr))
		}
		return nil, WriteOutput{}, err
	}
	var n int
	fmt.Sscan(res.Stdout, &n)
	return nil, WriteOutput{Path: in.Path, Bytes: n}, nil
}

// PortInput are the arguments of expose_port.
type PortInput struct {
	Port      int    `json:"port" jsonschema:"TCP port the server in the sandbox listens on"`
	SandboxID string `json:"sandbox_id,omitempty" jsonschema:"sandbox; default this session's"`
}

// PortOutput is what expose_port returns.
type PortOutput struct {
	URL string `json:"url"`
}

func (ss *session) exposePort(ctx context.Context, _ *mcp.CallToolRequest, in PortInput) (*mcp.CallToolResult, PortOutput, error) {
	if in.Port < 1 || in.Port > 65535 {
		return nil, PortOutput{}, fmt.Errorf("port %d: use 1 to 65535", in.Port)
	}
	sb, err := ss.sandbox(ctx, in.SandboxID)
	if err != nil {
		return nil, PortOutput{}, err
	}
	return nil, PortOutput{URL: sb.URL(in.Port)}, nil
}

// KillInput are the arguments of kill_sandbox.
type KillInput struct {
	SandboxID string `json:"sandbox_id,omitempty" jsonschema:"sandbox to delete; default this session's"`
}

// KillOutput is what kill_sandbox returns.
type KillOutput struct {
	Killed string `json:"killed"`
}

func (ss *session) killSandbox(ctx context.Context, _ *mcp.CallToolRequest, in KillInput) (*mcp.CallToolResult, KillOutput, error) {
	id := in.SandboxID
	if id == "" {
		ss.mu.Lock()
		id = ss.def
		ss.mu.Unlock()
		if id == "" {
			return nil, KillOutput{}, errors.New("this session has no sandbox to kill")
		}
	}
	if err := ss.client.Kill(ctx, id); err != nil {
		return nil, KillOutput{}, err
	}
	ss.forget(id)
	return nil, KillOutput{Killed: id}, nil
}

func seconds(n, def int) time.Duration {
	if n <= 0 {
		return time.Duration(def) * time.Second
	}
	return time.Duration(n) * time.Second
}
