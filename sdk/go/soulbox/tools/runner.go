package tools

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/soulbox/soulbox/sdk/go/soulbox"
)

// Runner executes tool calls against a SoulBox server. It is safe for
// concurrent use; one Runner is one conversation (one default sandbox).
type Runner struct {
	client *soulbox.Client

	mu        sync.Mutex
	def       string // the default sandbox's ID
	sandboxes map[string]*soulbox.Sandbox
}

// NewRunner returns a Runner acting with client.
func NewRunner(client *soulbox.Client) *Runner {
	return &Runner{client: client, sandboxes: map[string]*soulbox.Sandbox{}}
}

// Call executes the tool name with the model's JSON arguments. Whatever
// goes wrong, from bad arguments to a failed command, is a Result with
// IsError and a message for the model.
func (r *Runner) Call(ctx context.Context, name string, args json.RawMessage) Result {
	var res Result
	var err error
	switch name {
	case "create_sandbox":
		res, err = call(ctx, args, r.createSandbox)
	case "run_code":
		res, err = call(ctx, args, r.runCode)
	case "run_command":
		res, err = call(ctx, args, r.runCommand)
	case "read_file":
		res, err = call(ctx, args, r.readFile)
	case "write_file":
		res, err = call(ctx, args, r.writeFile)
	case "list_files":
		res, err = call(ctx, args, r.listFiles)
	case "upload_from_url":
		res, err = call(ctx, args, r.uploadFromURL)
	case "expose_port":
		res, err = call(ctx, args, r.exposePort)
	case "kill_sandbox":
		res, err = call(ctx, args, r.killSandbox)
	default:
		names := make([]string, 0, 9)
		for _, t := range Definitions() {
			names = append(names, t.Name)
		}
		err = fmt.Errorf("there is no tool %q; the tools are %s", name, strings.Join(names, ", "))
	}
	if err != nil {
		return Result{Text: err.Error(), IsError: true}
	}
	return res
}

// call decodes args strictly into In and runs h.
func call[In any](ctx context.Context, args json.RawMessage, h func(context.Context, In) (Result, error)) (Result, error) {
	var in In
	if len(bytes.TrimSpace(args)) > 0 && !bytes.Equal(bytes.TrimSpace(args), []byte("null")) {
		dec := json.NewDecoder(bytes.NewReader(args))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&in); err != nil {
			return Result{}, argumentError(err)
		}
	}
	return h(ctx, in)
}

// argumentError says what is wrong with the arguments in a model's terms.
func argumentError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Errorf("argument %s: want %s, got a JSON %s", te.Field, jsonKind(te.Type.Kind().String()), te.Value)
	}
	var se *json.SyntaxError
	if errors.As(err, &se) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("the arguments are not valid JSON: %v", err)
	}
	return fmt.Errorf("bad arguments: %s", strings.TrimPrefix(err.Error(), "json: "))
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "int", "int64", "uint32", "float64":
		return "a number"
	case "map", "struct":
		return "an object"
	case "slice":
		return "an array"
	}
	return goKind
}

// Sandbox returns the sandbox id, or the default one (created when there
// is none yet) when id is empty.
func (r *Runner) Sandbox(ctx context.Context, id string) (*soulbox.Sandbox, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if id == "" {
		id = r.def
	}
	if sb, ok := r.sandboxes[id]; ok {
		return sb, nil
	}
	if id == "" {
		sb, err := r.client.Create(ctx, "", soulbox.CreateOptions{Timeout: 15 * time.Minute, Metadata: map[string]string{"created-by": "soulbox-tools"}})
		if err != nil {
			return nil, fmt.Errorf("create a sandbox: %w", err)
		}
		r.sandboxes[sb.ID] = sb
		r.def = sb.ID
		return sb, nil
	}
	sb, err := r.client.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	r.sandboxes[id] = sb
	return sb, nil
}

// DefaultSandbox is the ID of the default sandbox ("" before one exists).
func (r *Runner) DefaultSandbox() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.def
}

// Close kills the default sandbox, if any: the end of a conversation.
func (r *Runner) Close(ctx context.Context) error {
	id := r.DefaultSandbox()
	if id == "" {
		return nil
	}
	r.forget(id)
	if err := r.client.Kill(ctx, id); err != nil && !errors.Is(err, soulbox.ErrNotFound) {
		return err
	}
	return nil
}

func (r *Runner) adopt(sb *soulbox.Sandbox) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sandboxes[sb.ID] = sb
	r.def = sb.ID
}

func (r *Runner) forget(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.sandboxes, id)
	if r.def == id {
		r.def = ""
	}
}

func seconds(n, def int) time.Duration {
	if n <= 0 {
		return time.Duration(def) * time.Second
	}
	return time.Duration(n) * time.Second
}
