package lifecycle

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"strings"
	"sync"
	"time"

	"github.com/soulbox/soulbox/internal/catalog"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/runtime"
)

// TemplateSettings is the optional ability of Templates to say what a
// template asks of its sandboxes: environment, default user and working
// directory, start and ready commands.
type TemplateSettings interface {
	SandboxSettings(ctx context.Context, ref string) (catalog.Sandbox, error)
}

// TemplateAccess is the optional ability of a template resolver to say
// whether a team may start sandboxes from a template: a private template
// of another team is refused as not found.
type TemplateAccess interface {
	Usable(ctx context.Context, team, ref string) error
}

// TemplateHold is the optional ability of a template resolver to keep a
// template from being deleted while a create resolves it and records its
// sandbox: Hold returns once no delete of the template ref names runs,
// and its deletes wait until release is called. A delete that runs after
// it sees the sandbox's record (and refuses), so it never frees layers a
// new sandbox starts from. Creates and deletes of other templates neither
// wait for it nor hold it up.
type TemplateHold interface {
	Hold(ref string) (release func())
}

// holdTemplate holds template ref if the resolver can; the release it
// returns may be called more than once.
func (m *Manager) holdTemplate(ref string) func() {
	h, ok := m.tmpl.(TemplateHold)
	if !ok {
		return func() {}
	}
	return sync.OnceFunc(h.Hold(ref))
}

// ReadyTimeout bounds how long a sandbox's ready command may take to
// succeed before the create fails.
var ReadyTimeout = 2 * time.Minute

// readyInterval is how often the ready command is tried.
const readyInterval = 200 * time.Millisecond

// initSandbox initialises the agent of a new sandbox of template ref with
// the template's settings under the request's, then runs the template's
// start command and waits for its ready command, as E2B does: the
// sandbox is handed out only once it is ready.
func (m *Manager) initSandbox(ctx context.Context, id, ref string, envVars map[string]string, token, traffic string) error {
	ts, ok := m.tmpl.(TemplateSettings)
	if !ok {
		return m.initAgent(ctx, id, envVars, token, traffic)
	}
	set, err := ts.SandboxSettings(ctx, ref)
	if err != nil {
		return err
	}
	env := maps.Clone(set.Env)
	if env == nil {
		env = map[string]string{}
	}
	maps.Copy(env, envVars)
	if err := m.waitAgent(ctx, id, 15*time.Second); err != nil {
		return err
	}
	body := initBody(env, token, traffic)
	if set.User != "" {
		body["defaultUser"] = set.User
	}
	if set.Workdir != "" {
		body["defaultWorkdir"] = set.Workdir
	}
	if err := m.postInit(ctx, id, body); err != nil {
		return err
	}
	return m.startTemplate(ctx, id, set, env)
}

// startTemplate runs the start command of a template with settings set
// in sandbox id, with environment env, and waits for its ready command.
func (m *Manager) startTemplate(ctx context.Context, id string, set catalog.Sandbox, env map[string]string) error {
	user := set.User
	if user == "" {
		user = "user"
	}
	envList := make([]string, 0, len(env))
	for k, v := range env {
		envList = append(envList, k+"="+v)
	}
	if set.StartCmd != "" {
		// Backgrounded by the shell, so the start command outlives this
		// exec; its output goes to a file the user can read.
		script := "(" + set.StartCmd + ") >/tmp/.soulbox-start.log 2>&1 </dev/null &"
		res, err := m.driver.Exec(ctx, id, runtime.ExecRequest{Args: []string{"/bin/sh", "-c", script}, Env: envList, Cwd: set.Workdir, User: user})
		if err != nil {
			return fmt.Errorf("start command %q: %w", set.StartCmd, err)
		}
		if res.ExitCode != 0 {
			return fmt.Errorf("start command %q could not be started (exit code %d): %w", set.StartCmd, res.ExitCode, errdefs.ErrFailedPrecondition)
		}
	}
	if set.ReadyCmd == "" {
		return nil
	}
	return m.waitReady(ctx, id, set.ReadyCmd, envList, set.Workdir, user)
}

// readyLog is where the ready command's output goes inside the sandbox.
const readyLog = "/tmp/.soulbox-ready.log"

// waitReady runs the ready command until it exits 0, or fails with its
// last exit code and output once ReadyTimeout has passed. The output goes
// to a file in the sandbox, not through the exec: a process the command
// leaves behind would otherwise hold the exec open.
func (m *Manager) waitReady(ctx context.Context, id, cmd string, env []string, cwd, user string) error {
	deadline := time.Now().Add(ReadyTimeout)
	script := "(" + cmd + ") >" + readyLog + " 2>&1 </dev/null"
	for {
		tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		res, err := m.driver.Exec(tctx, id, runtime.ExecRequest{Args: []string{"/bin/sh", "-c", script}, Env: env, Cwd: cwd, User: user})
		cancel()
		if err == nil && res.ExitCode == 0 {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Now().After(deadline) {
			why := fmt.Sprintf("exit code %d", res.ExitCode)
			if err != nil {
				why = err.Error()
			}
			return fmt.Errorf("the template's ready command %q did not succeed within %v (last: %s, output %q): %w",
				cmd, ReadyTimeout, why, m.readyOutput(ctx, id, user), errdefs.ErrFailedPrecondition)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(readyInterval):
		}
	}
}

// readyOutput returns the end of the ready command's last output, if the
// sandbox has cat to read it with.
func (m *Manager) readyOutput(ctx context.Context, id, user string) string {
	var out bytes.Buffer
	tctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := m.driver.Exec(tctx, id, runtime.ExecRequest{Args: []string{"cat", readyLog}, User: user, Stdout: &out}); err != nil {
		return ""
	}
	tail := strings.TrimSpace(out.String())
	if len(tail) > 500 {
		tail = tail[len(tail)-500:]
	}
	return tail
}
