package soulbox

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"

	"github.com/soulbox/soulbox/internal/envd"
)

// CodeContext is a stateful interpreter (a Python or JavaScript process)
// in the sandbox: variables and imports persist between RunCode calls.
type CodeContext struct {
	ID       string `json:"id"`
	Language string `json:"language"`
	Cwd      string `json:"cwd"`
}

// CodeContextOptions say which interpreter to start.
type CodeContextOptions struct {
	// Language is "python" (default), "javascript", ... as the
	// template's interpreter offers.
	Language string
	// Cwd is the working directory (default the user's home).
	Cwd string
}

// RunCodeOptions say where and how to run code.
type RunCodeOptions struct {
	// Language runs the code in the default context of this language
	// (default python). Not together with Context.
	Language string
	// Context runs the code in this context.
	Context *CodeContext
	// Envs are set for this execution.
	Envs map[string]string
	// OnStdout, OnStderr and OnResult are called as output comes.
	OnStdout, OnStderr func(text string)
	OnResult           func(Result)
}

// Result is a rich value the code displayed or evaluated to. Image and
// PDF fields hold base64 as the protocol sends them; PNG() decodes.
type Result struct {
	IsMainResult bool            `json:"is_main_result"`
	Text         string          `json:"text,omitempty"`
	HTML         string          `json:"html,omitempty"`
	Markdown     string          `json:"markdown,omitempty"`
	SVG          string          `json:"svg,omitempty"`
	PNGBase64    string          `json:"png,omitempty"`
	JPEGBase64   string          `json:"jpeg,omitempty"`
	PDFBase64    string          `json:"pdf,omitempty"`
	LaTeX        string          `json:"latex,omitempty"`
	JSON         json.RawMessage `json:"json,omitempty"`
	JavaScript   string          `json:"javascript,omitempty"`
	Data         json.RawMessage `json:"data,omitempty"`
	// Chart is the chart the interpreter read from a matplotlib figure
	// (E2B's chart object: type, title, elements, ...), if any.
	Chart *Chart                     `json:"chart,omitempty"`
	Extra map[string]json.RawMessage `json:"extra,omitempty"`
}

// Chart is the data of a chart, as E2B's code interpreter describes it.
type Chart struct {
	Type  string `json:"type"`
	Title string `json:"title"`
	// Raw is the whole chart object (axes, elements, ...).
	Raw json.RawMessage `json:"-"`
}

// UnmarshalJSON keeps the whole object in Raw.
func (c *Chart) UnmarshalJSON(b []byte) error {
	type plain Chart
	if err := json.Unmarshal(b, (*plain)(c)); err != nil {
		return err
	}
	c.Raw = append(json.RawMessage(nil), b...)
	return nil
}

// PNG decodes the PNG image of the result (nil when it has none).
func (r Result) PNG() ([]byte, error) {
	if r.PNGBase64 == "" {
		return nil, nil
	}
	return base64.StdEncoding.DecodeString(r.PNGBase64)
}

// Formats lists the formats the result has, e.g. ["text", "png"].
func (r Result) Formats() []string {
	var out []string
	for _, f := range []struct {
		name string
		set  bool
	}{{"text", r.Text != ""}, {"html", r.HTML != ""}, {"markdown", r.Markdown != ""}, {"svg", r.SVG != ""}, {"png", r.PNGBase64 != ""},
		{"jpeg", r.JPEGBase64 != ""}, {"pdf", r.PDFBase64 != ""}, {"latex", r.LaTeX != ""}, {"json", len(r.JSON) > 0},
		{"javascript", r.JavaScript != ""}, {"data", len(r.Data) > 0}, {"chart", r.Chart != nil}} {
		if f.set {
			out = append(out, f.name)
		}
	}
	return out
}

// ExecutionError is an exception the code raised.
type ExecutionError struct {
	Name      string `json:"name"`
	Value     string `json:"value"`
	Traceback string `json:"traceback"`
}

func (e *ExecutionError) Error() string { return e.Name + ": " + e.Value }

// Execution is what running code produced.
type Execution struct {
	Results []Result
	Stdout  []string
	Stderr  []string
	// Error is the exception the code raised, if any. RunCode does not
	// return it as its error: the code ran, and failed.
	Error          *ExecutionError
	ExecutionCount int
}

// Text is the text of the main result (the value of the last
// expression), as E2B's execution.text.
func (e *Execution) Text() string {
	for _, r := range e.Results {
		if r.IsMainResult {
			return r.Text
		}
	}
	return ""
}

// RunCode runs code in a stateful interpreter and returns what it
// produced. Cancelling ctx interrupts the code (the context keeps its
// state).
func (sb *Sandbox) RunCode(ctx context.Context, code string, o *RunCodeOptions) (*Execution, error) {
	if o == nil {
		o = &RunCodeOptions{}
	}
	body := map[string]any{"code": code}
	switch {
	case o.Context != nil && o.Language != "":
		return nil, &Error{kind: ErrInvalidArgument, Message: "give Language or Context, not both"}
	case o.Context != nil:
		body["context_id"] = o.Context.ID
	case o.Language != "":
		body["language"] = o.Language
	}
	if len(o.Envs) > 0 {
		body["env_vars"] = o.Envs
	}
	b, _ := json.Marshal(body)
	req, err := sb.request(ctx, envd.CodeInterpreterPort, "POST", "/execute", "", bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := sb.send(ctx, req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	ex := &Execution{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 256<<20) // a chart's PNG is one line
	for sc.Scan() {
		line := sc.Bytes()
		var head struct {
			Type string `json:"type"`
			Text string `json:"text"`
			N    int    `json:"execution_count"`
		}
		if err := json.Unmarshal(line, &head); err != nil {
			return ex, fmt.Errorf("sandbox %s: unexpected line from the interpreter: %w", sb.ID, err)
		}
		switch head.Type {
		case "stdout":
			ex.Stdout = append(ex.Stdout, head.Text)
			if o.OnStdout != nil {
				o.OnStdout(head.Text)
			}
		case "stderr":
			ex.Stderr = append(ex.Stderr, head.Text)
			if o.OnStderr != nil {
				o.OnStderr(head.Text)
			}
		case "result":
			var r Result
			if err := json.Unmarshal(line, &r); err != nil {
				return ex, fmt.Errorf("sandbox %s: unexpected result: %w", sb.ID, err)
			}
			ex.Results = append(ex.Results, r)
			if o.OnResult != nil {
				o.OnResult(r)
			}
		case "error":
			var e ExecutionError
			_ = json.Unmarshal(line, &e)
			ex.Error = &e
		case "number_of_executions":
			ex.ExecutionCount = head.N
		case "end_of_execution":
			return ex, nil
		}
	}
	if err := sc.Err(); err != nil {
		return ex, transportError(ctx, "sandbox "+sb.ID, err)
	}
	if ctx.Err() != nil {
		return ex, ctxError(ctx)
	}
	return ex, &Error{kind: ErrUnavailable, Message: "the interpreter's stream ended before the execution did"}
}

// CreateCodeContext starts a new interpreter context.
func (sb *Sandbox) CreateCodeContext(ctx context.Context, o *CodeContextOptions) (*CodeContext, error) {
	if o == nil {
		o = &CodeContextOptions{}
	}
	body := map[string]string{}
	if o.Language != "" {
		body["language"] = o.Language
	}
	if o.Cwd != "" {
		body["cwd"] = o.Cwd
	}
	var out CodeContext
	if err := sb.interpreterJSON(ctx, "POST", "/contexts", body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListCodeContexts lists the interpreter contexts of the sandbox.
func (sb *Sandbox) ListCodeContexts(ctx context.Context) ([]CodeContext, error) {
	var out []CodeContext
	err := sb.interpreterJSON(ctx, "GET", "/contexts", nil, &out)
	return out, err
}

// RestartCodeContext restarts the context's interpreter: its state is
// lost.
func (sb *Sandbox) RestartCodeContext(ctx context.Context, c *CodeContext) error {
	return sb.interpreterJSON(ctx, "POST", "/contexts/"+url.PathEscape(c.ID)+"/restart", nil, nil)
}

// RemoveCodeContext ends the context's interpreter.
func (sb *Sandbox) RemoveCodeContext(ctx context.Context, c *CodeContext) error {
	return sb.interpreterJSON(ctx, "DELETE", "/contexts/"+url.PathEscape(c.ID), nil, nil)
}

func (sb *Sandbox) interpreterJSON(ctx context.Context, method, path string, body, out any) error {
	var r *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	} else {
		r = bytes.NewReader(nil)
	}
	req, err := sb.request(ctx, envd.CodeInterpreterPort, method, path, "", r)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := sb.send(ctx, req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("sandbox %s: %s %s: unexpected answer: %w", sb.ID, method, path, err)
	}
	return nil
}
