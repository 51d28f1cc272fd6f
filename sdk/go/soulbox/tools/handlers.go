package tools

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/soulbox/soulbox/sdk/go/soulbox"
)

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

func (r *Runner) createSandbox(ctx context.Context, in CreateInput) (Result, error) {
	if in.TimeoutSeconds < 0 || in.TimeoutSeconds > 86400 {
		return Result{}, fmt.Errorf("timeout_seconds %d: use 1 to 86400", in.TimeoutSeconds)
	}
	timeout := 15 * time.Minute
	if in.TimeoutSeconds > 0 {
		timeout = time.Duration(in.TimeoutSeconds) * time.Second
	}
	sb, err := r.client.Create(ctx, in.Template, soulbox.CreateOptions{Timeout: timeout, Metadata: map[string]string{"created-by": "soulbox-tools"}})
	if err != nil {
		return Result{}, err
	}
	r.adopt(sb)
	return structured(SandboxOutput{SandboxID: sb.ID, Template: sb.Info().TemplateID}), nil
}

// RunCodeInput are the arguments of run_code.
type RunCodeInput struct {
	Code           string `json:"code" jsonschema:"the code to run"`
	Language       string `json:"language,omitempty" jsonschema:"python (default) or javascript"`
	SandboxID      string `json:"sandbox_id,omitempty" jsonschema:"sandbox to run in; default the one in use"`
	TimeoutSeconds int    `json:"timeout_seconds,omitempty" jsonschema:"interrupt the code after this many seconds; default 300"`
}

func (r *Runner) runCode(ctx context.Context, in RunCodeInput) (Result, error) {
	if strings.TrimSpace(in.Code) == "" {
		return Result{}, errors.New("code is empty: give the code to run")
	}
	if len(in.Code) > MaxCode {
		return Result{}, fmt.Errorf("code is %d bytes, over the limit of %d: write it to a file with write_file and run that file instead", len(in.Code), MaxCode)
	}
	lang := strings.ToLower(in.Language)
	switch lang {
	case "", "python", "javascript", "js":
		if lang == "js" {
			lang = "javascript"
		}
	default:
		return Result{}, fmt.Errorf("language %q: use python or javascript", in.Language)
	}
	ctx, cancel := context.WithTimeout(ctx, seconds(in.TimeoutSeconds, 300))
	defer cancel()
	sb, err := r.Sandbox(ctx, in.SandboxID)
	if err != nil {
		return Result{}, err
	}
	ex, err := sb.RunCode(ctx, in.Code, &soulbox.RunCodeOptions{Language: lang})
	if err != nil {
		return Result{}, err
	}
	return executionResult(ex), nil
}

// RunCommandInput are the arguments of run_command.
type RunCommandInput struct {
	Command        string `json:"command" jsonschema:"the command line, run with bash -l -c"`
	Cwd            string `json:"cwd,omitempty" jsonschema:"working directory; default /home/user"`
	Background     bool   `json:"background,omitempty" jsonschema:"start it and return at once, leaving it running"`
	SandboxID      string `json:"sandbox_id,omitempty" jsonschema:"sandbox to run in; default the one in use"`
	TimeoutSeconds int    `json:"timeout_seconds,omitempty" jsonschema:"kill the command after this many seconds; default 120"`
}

// CommandOutput is what run_command returns.
type CommandOutput struct {
	Stdout   string `json:"stdout"`
	Stderr   string `json:"stderr"`
	ExitCode int    `json:"exit_code"`
	PID      uint32 `json:"pid,omitempty"`
}

func (r *Runner) runCommand(ctx context.Context, in RunCommandInput) (Result, error) {
	if strings.TrimSpace(in.Command) == "" {
		return Result{}, errors.New("command is empty: give the command line to run")
	}
	if len(in.Command) > MaxCode {
		return Result{}, fmt.Errorf("command is %d bytes, over the limit of %d: write a script with write_file and run it", len(in.Command), MaxCode)
	}
	sb, err := r.Sandbox(ctx, in.SandboxID)
	if err != nil {
		return Result{}, err
	}
	if in.Background {
		// Detached from this call: it runs until it ends or the sandbox does.
		h, err := sb.Commands.Start(context.WithoutCancel(ctx), in.Command, &soulbox.RunOptions{Cwd: in.Cwd})
		if err != nil {
			return Result{}, err
		}
		h.Disconnect()
		return structured(CommandOutput{PID: h.PID}), nil
	}
	ctx, cancel := context.WithTimeout(ctx, seconds(in.TimeoutSeconds, 120))
	defer cancel()
	res, err := sb.Commands.Run(ctx, in.Command, &soulbox.RunOptions{Cwd: in.Cwd})
	var exit *soulbox.ExitError
	if err != nil && !errors.As(err, &exit) {
		if errors.Is(err, soulbox.ErrTimeout) {
			return Result{}, fmt.Errorf("the command did not finish in %s and was killed; use background true for servers and long jobs", seconds(in.TimeoutSeconds, 120))
		}
		return Result{}, err
	}
	return structured(CommandOutput{Stdout: truncate(res.Stdout), Stderr: truncate(res.Stderr), ExitCode: res.ExitCode}), nil
}

// PathInput names a path of a sandbox.
type PathInput struct {
	Path      string `json:"path" jsonschema:"absolute path, or relative to /home/user"`
	SandboxID string `json:"sandbox_id,omitempty" jsonschema:"sandbox; default the one in use"`
}

func (r *Runner) readFile(ctx context.Context, in PathInput) (Result, error) {
	if in.Path == "" {
		return Result{}, errors.New("path is empty: give the file to read")
	}
	sb, err := r.Sandbox(ctx, in.SandboxID)
	if err != nil {
		return Result{}, err
	}
	st, err := sb.Files.Stat(ctx, in.Path, nil)
	if err != nil {
		return Result{}, err
	}
	if st.Type == soulbox.TypeDir {
		return Result{}, fmt.Errorf("%s is a directory: use list_files", st.Path)
	}
	if st.Size > MaxFileRead {
		return Result{}, fmt.Errorf("%s is %d bytes, over the %d this tool returns: read a part with run_command (head, tail, grep)", st.Path, st.Size, MaxFileRead)
	}
	b, err := sb.Files.ReadFile(ctx, in.Path, nil)
	if err != nil {
		return Result{}, err
	}
	return fileContent(st.Path, b), nil
}

// WriteInput are the arguments of write_file.
type WriteInput struct {
	Path      string `json:"path" jsonschema:"absolute path, or relative to /home/user"`
	Content   string `json:"content" jsonschema:"the file's new content (text)"`
	SandboxID string `json:"sandbox_id,omitempty" jsonschema:"sandbox; default the one in use"`
}

// WriteOutput is what write_file returns.
type WriteOutput struct {
	Path  string `json:"path"`
	Bytes int    `json:"bytes"`
}

func (r *Runner) writeFile(ctx context.Context, in WriteInput) (Result, error) {
	if in.Path == "" {
		return Result{}, errors.New("path is empty: give the file to write")
	}
	if len(in.Content) > MaxFileWrite {
		return Result{}, fmt.Errorf("content is %d bytes, over the limit of %d: use upload_from_url for large data", len(in.Content), MaxFileWrite)
	}
	sb, err := r.Sandbox(ctx, in.SandboxID)
	if err != nil {
		return Result{}, err
	}
	info, err := sb.Files.WriteFile(ctx, in.Path, []byte(in.Content), nil)
	if err != nil {
		return Result{}, err
	}
	return structured(WriteOutput{Path: info.Path, Bytes: len(in.Content)}), nil
}

// ListInput are the arguments of list_files.
type ListInput struct {
	Path      string `json:"path,omitempty" jsonschema:"directory; default /home/user"`
	Depth     int    `json:"depth,omitempty" jsonschema:"levels to descend; default 1, at most 5"`
	SandboxID string `json:"sandbox_id,omitempty" jsonschema:"sandbox; default the one in use"`
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

func (r *Runner) listFiles(ctx context.Context, in ListInput) (Result, error) {
	if in.Depth < 0 || in.Depth > 5 {
		return Result{}, fmt.Errorf("depth %d: use 1 to 5", in.Depth)
	}
	if in.Path == "" {
		in.Path = "/home/user"
	}
	sb, err := r.Sandbox(ctx, in.SandboxID)
	if err != nil {
		return Result{}, err
	}
	list, err := sb.Files.List(ctx, in.Path, uint32(in.Depth), nil)
	if err != nil {
		return Result{}, err
	}
	out := ListOutput{Entries: make([]Entry, 0, len(list))}
	for _, e := range list {
		out.Entries = append(out.Entries, Entry{Path: e.Path, Type: string(e.Type), Size: e.Size})
	}
	return structured(out), nil
}

// URLInput are the arguments of upload_from_url.
type URLInput struct {
	URL       string `json:"url" jsonschema:"http or https URL to download"`
	Path      string `json:"path" jsonschema:"file to write, absolute or relative to /home/user"`
	SandboxID string `json:"sandbox_id,omitempty" jsonschema:"sandbox; default the one in use"`
}

func (r *Runner) uploadFromURL(ctx context.Context, in URLInput) (Result, error) {
	if !strings.HasPrefix(in.URL, "http://") && !strings.HasPrefix(in.URL, "https://") {
		return Result{}, fmt.Errorf("url %q: give an http:// or https:// URL", in.URL)
	}
	if in.Path == "" {
		return Result{}, errors.New("path is empty: give the file to write")
	}
	sb, err := r.Sandbox(ctx, in.SandboxID)
	if err != nil {
		return Result{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	// curl's arguments go as argv, not through a shell: the URL and path
	// are never interpreted.
	h, err := sb.Commands.Exec(ctx, []string{"curl", "-fsSL", "--create-dirs", "-o", in.Path, "-w", "%{size_download}", "--", in.URL}, nil)
	if err != nil {
		return Result{}, err
	}
	res, err := h.Wait()
	if err != nil {
		if res != nil {
			return Result{}, fmt.Errorf("download failed (curl exit %d): %s", res.ExitCode, strings.TrimSpace(res.Stderr))
		}
		return Result{}, err
	}
	var n int
	fmt.Sscan(res.Stdout, &n)
	return structured(WriteOutput{Path: in.Path, Bytes: n}), nil
}

// PortInput are the arguments of expose_port.
type PortInput struct {
	Port      int    `json:"port" jsonschema:"TCP port the server in the sandbox listens on"`
	SandboxID string `json:"sandbox_id,omitempty" jsonschema:"sandbox; default the one in use"`
}

// PortOutput is what expose_port returns.
type PortOutput struct {
	URL string `json:"url"`
}

func (r *Runner) exposePort(ctx context.Context, in PortInput) (Result, error) {
	if in.Port < 1 || in.Port > 65535 {
		return Result{}, fmt.Errorf("port %d: use 1 to 65535", in.Port)
	}
	sb, err := r.Sandbox(ctx, in.SandboxID)
	if err != nil {
		return Result{}, err
	}
	return structured(PortOutput{URL: sb.URL(in.Port)}), nil
}

// KillInput are the arguments of kill_sandbox.
type KillInput struct {
	SandboxID string `json:"sandbox_id,omitempty" jsonschema:"sandbox to delete; default the one in use"`
}

// KillOutput is what kill_sandbox returns.
type KillOutput struct {
	Killed string `json:"killed"`
}

func (r *Runner) killSandbox(ctx context.Context, in KillInput) (Result, error) {
	id := in.SandboxID
	if id == "" {
		id = r.DefaultSandbox()
		if id == "" {
			return Result{}, errors.New("there is no sandbox to kill yet")
		}
	}
	if err := r.client.Kill(ctx, id); err != nil {
		return Result{}, err
	}
	r.forget(id)
	return structured(KillOutput{Killed: id}), nil
}
