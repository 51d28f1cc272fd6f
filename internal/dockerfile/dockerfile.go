// Package dockerfile turns a Dockerfile into the steps of E2B's template
// build API (RUN, COPY, ENV, WORKDIR, USER, a base image and a start
// command), parsed with BuildKit's Dockerfile parser. What a template
// cannot express is refused with the line it is on.
package dockerfile

import (
	"fmt"
	"io"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/parser"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// DefaultImage is the base when a Dockerfile has no FROM, as in E2B.
const DefaultImage = "e2bdev/base"

// Step is one build step in E2B's shape. For COPY, Args are source,
// destination, owner and mode (the last two may be empty). Line is 0 for
// the steps every Dockerfile gets (see Parse).
type Step struct {
	Type string
	Args []string
	Line int
}

// Recipe is what a Dockerfile asks for.
type Recipe struct {
	FromImage string
	Steps     []Step
	// StartCmd is ENTRYPOINT and CMD joined, as E2B's SDKs do.
	StartCmd string
}

// ignored are instructions that only describe an image to other tools;
// they change nothing in a sandbox.
var ignored = map[string]bool{"label": true, "maintainer": true, "expose": true}

// Parse reads a Dockerfile.
func Parse(r io.Reader) (Recipe, error) {
	res, err := parser.Parse(r)
	if err != nil {
		return Recipe{}, fmt.Errorf("Dockerfile: %v: %w", err, errdefs.ErrInvalidArgument)
	}
	// As E2B's SDKs do: steps run as root in / unless the Dockerfile says
	// otherwise, as in Docker; the sandbox's user and directory are E2B's
	// (user, /home/user) unless the Dockerfile sets them.
	rec := Recipe{Steps: []Step{{Type: "USER", Args: []string{"root"}}, {Type: "WORKDIR", Args: []string{"/"}}}}
	userSet, workdirSet := false, false
	var entrypoint, cmd string
	froms := 0
	for _, n := range res.AST.Children {
		line := n.StartLine
		bad := func(format string, args ...any) (Recipe, error) {
			return Recipe{}, fmt.Errorf("Dockerfile line %d: %s: %w", line, fmt.Sprintf(format, args...), errdefs.ErrInvalidArgument)
		}
		instr := strings.ToLower(n.Value)
		args := words(n)
		if len(n.Heredocs) > 0 {
			return bad("heredocs are not supported")
		}
		flags, err := parseFlags(n.Flags)
		if err != nil {
			return bad("%v", err)
		}
		switch instr {
		case "from":
			froms++
			if froms > 1 {
				return bad("multi-stage builds are not supported: use one FROM")
			}
			if len(args) != 1 && !(len(args) == 3 && strings.EqualFold(args[1], "as")) {
				return bad("FROM takes one image")
			}
			if _, ok := flags["platform"]; len(flags) > 1 || (len(flags) == 1 && !ok) {
				return bad("FROM flags other than --platform are not supported")
			}
			rec.FromImage = args[0]
		case "run":
			if len(flags) > 0 {
				return bad("RUN flags (--mount, --network, ...) are not supported")
			}
			if len(args) == 0 {
				return bad("RUN needs a command")
			}
			rec.Steps = append(rec.Steps, Step{Type: "RUN", Args: []string{command(n, args)}, Line: line})
		case "copy", "add":
			if _, ok := flags["from"]; ok {
				return bad("COPY --from is not supported: there is one stage")
			}
			if len(args) < 2 {
				return bad("%s needs a source and a destination", strings.ToUpper(instr))
			}
			for k := range flags {
				if k != "chown" && k != "chmod" {
					return bad("%s --%s is not supported", strings.ToUpper(instr), k)
				}
			}
			dest := args[len(args)-1]
			for _, src := range args[:len(args)-1] {
				if strings.Contains(src, "://") {
					return bad("ADD from a URL is not supported: download it in a RUN step")
				}
				rec.Steps = append(rec.Steps, Step{Type: "COPY", Args: []string{src, dest, flags["chown"], flags["chmod"]}, Line: line})
			}
		case "env":
			// The parser gives (name, value, separator) triples.
			if len(args) == 0 || len(args)%3 != 0 {
				return bad("ENV needs name and value pairs")
			}
			var env []string
			for i := 0; i < len(args); i += 3 {
				env = append(env, args[i], unquote(args[i+1]))
			}
			rec.Steps = append(rec.Steps, Step{Type: "ENV", Args: env, Line: line})
		case "arg":
			// As E2B's SDKs do: an ARG becomes an environment variable
			// holding its default.
			var env []string
			for _, a := range args {
				k, v, _ := strings.Cut(a, "=")
				env = append(env, k, unquote(v))
			}
			if len(env) > 0 {
				rec.Steps = append(rec.Steps, Step{Type: "ENV", Args: env, Line: line})
			}
		case "workdir":
			if len(args) != 1 {
				return bad("WORKDIR takes one path")
			}
			rec.Steps = append(rec.Steps, Step{Type: "WORKDIR", Args: args, Line: line})
			workdirSet = true
		case "user":
			if len(args) != 1 {
				return bad("USER takes one user")
			}
			rec.Steps = append(rec.Steps, Step{Type: "USER", Args: args, Line: line})
			userSet = true
		case "cmd":
			cmd = command(n, args)
		case "entrypoint":
			entrypoint = command(n, args)
		default:
			if ignored[instr] {
				continue
			}
			return bad("%s is not supported (FROM, RUN, COPY, ADD, ENV, ARG, WORKDIR, USER, CMD, ENTRYPOINT are)", strings.ToUpper(instr))
		}
	}
	if !userSet {
		rec.Steps = append(rec.Steps, Step{Type: "USER", Args: []string{"user"}})
	}
	if !workdirSet {
		rec.Steps = append(rec.Steps, Step{Type: "WORKDIR", Args: []string{"/home/user"}})
	}
	if rec.FromImage == "" {
		rec.FromImage = DefaultImage
	}
	rec.StartCmd = strings.TrimSpace(entrypoint + " " + cmd)
	return rec, nil
}

// unquote removes the quotes around an ENV or ARG value.
func unquote(v string) string {
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		return strings.NewReplacer(`\"`, `"`, `\\`, `\`).Replace(v[1 : len(v)-1])
	}
	if len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'' {
		return v[1 : len(v)-1]
	}
	return v
}

// words are the instruction's arguments.
func words(n *parser.Node) []string {
	var out []string
	for a := n.Next; a != nil; a = a.Next {
		out = append(out, a.Value)
	}
	return out
}

// command is a RUN, CMD or ENTRYPOINT as one shell line: the shell form as
// written, the JSON form with each word quoted.
func command(n *parser.Node, args []string) string {
	if !n.Attributes["json"] {
		return strings.Join(args, " ")
	}
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = shellQuote(a)
	}
	return strings.Join(q, " ")
}

func shellQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\n'\"\\$`|&;<>()*?[]{}~#!") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// parseFlags reads --name=value flags.
func parseFlags(flags []string) (map[string]string, error) {
	out := map[string]string{}
	for _, f := range flags {
		if !strings.HasPrefix(f, "--") {
			return nil, fmt.Errorf("flag %q", f)
		}
		k, v, _ := strings.Cut(strings.TrimPrefix(f, "--"), "=")
		out[k] = v
	}
	return out, nil
}
