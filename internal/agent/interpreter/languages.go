package interpreter

import (
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// The drivers are embedded in the agent rather than installed in the
// template, so the agent and its drivers always speak the same protocol
// version, whatever template a sandbox runs.
var (
	//go:embed drivers/python.py
	pythonDriver string
	//go:embed drivers/javascript.js
	javascriptDriver string
	//go:embed drivers/bash.sh
	bashDriver string
)

// language is one kind of context and the driver that runs it.
type language struct {
	Name string
	// Cmd runs the driver; its source is the last argument.
	Cmd    []string
	Source string
	// Encode turns a request into the line the driver reads; JSON unless
	// the driver cannot parse it.
	Encode func(request) ([]byte, error)
}

func (l *language) encode(req request) ([]byte, error) {
	if l.Encode != nil {
		return l.Encode(req)
	}
	line, err := json.Marshal(req)
	return append(line, '\n'), err
}

// encodeBash writes "<id> <base64 cell> <base64 env assignments>": fields
// bash's read can split, holding nothing it could misinterpret.
func encodeBash(req request) ([]byte, error) {
	keys := make([]string, 0, len(req.Env))
	for k := range req.Env {
		if !validEnvName(k) {
			return nil, fmt.Errorf("environment variable name %q: use letters, digits and _, not starting with a digit: %w", k, errdefs.ErrInvalidArgument)
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var env strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&env, "__sbx_setenv %s %s\n", k, shellQuote(req.Env[k]))
	}
	for k, v := range req.SetEnv {
		if !validEnvName(k) {
			continue // a name bash cannot hold stays out of bash
		}
		fmt.Fprintf(&env, "export %s=%s\n", k, shellQuote(v))
	}
	// "-" stands for empty: bash's read would merge two spaces.
	b64 := func(s string) string {
		if s == "" {
			return "-"
		}
		return base64.StdEncoding.EncodeToString([]byte(s))
	}
	return fmt.Appendf(nil, "%d %s %s\n", req.ID, b64(req.Code), b64(env.String())), nil
}

func validEnvName(k string) bool {
	if k == "" || (k[0] >= '0' && k[0] <= '9') {
		return false
	}
	for _, c := range k {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// shellQuote quotes s as one bash word.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func (l *language) argv() []string {
	return append(append([]string(nil), l.Cmd...), l.Source)
}

// languages by every name a client may use for them.
var languages = map[string]*language{}

func init() {
	python := &language{Name: "python", Cmd: []string{"python3", "-c"}, Source: pythonDriver}
	// --expose-internals gives the driver Node's own REPL transform for
	// top-level await, the one `node` itself uses interactively.
	js := &language{Name: "javascript", Cmd: []string{"node", "--expose-internals", "-e"}, Source: javascriptDriver}
	bash := &language{Name: "bash", Cmd: []string{"bash", "--noprofile", "--norc", "-c"}, Source: bashDriver, Encode: encodeBash}
	for name, l := range map[string]*language{
		"python": python, "python3": python,
		"javascript": js, "js": js, "node": js, "nodejs": js,
		"bash": bash, "sh": bash, "shell": bash,
	} {
		languages[name] = l
	}
}

// defaultLanguage runs code that names neither a context nor a language.
const defaultLanguage = "python"

// lookupLanguage resolves a client's language name, case-insensitively.
func lookupLanguage(name string) (*language, error) {
	if name == "" {
		name = defaultLanguage
	}
	if l, ok := languages[strings.ToLower(strings.TrimSpace(name))]; ok {
		return l, nil
	}
	return nil, fmt.Errorf("language %q is not supported: use one of %s: %w", name, strings.Join(languageNames(), ", "), errdefs.ErrInvalidArgument)
}

func languageNames() []string {
	seen := map[string]bool{}
	var names []string
	for _, l := range languages {
		if !seen[l.Name] {
			seen[l.Name] = true
			names = append(names, l.Name)
		}
	}
	sort.Strings(names)
	return names
}

// validateEnv refuses variables a process environment cannot hold, and
// for bash names a shell cannot assign.
func (l *language) validateEnv(env map[string]string) error {
	for k, v := range env {
		switch {
		case l.Encode != nil && !validEnvName(k):
			return fmt.Errorf("environment variable name %q: use letters, digits and _, not starting with a digit: %w", k, errdefs.ErrInvalidArgument)
		case k == "" || strings.ContainsAny(k, "=\x00"):
			return fmt.Errorf("environment variable name %q: it must be non-empty, without = or NUL: %w", k, errdefs.ErrInvalidArgument)
		case strings.ContainsRune(v, 0):
			return fmt.Errorf("environment variable %q: the value holds a NUL byte: %w", k, errdefs.ErrInvalidArgument)
		}
	}
	return nil
}
