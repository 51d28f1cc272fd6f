package oci

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// runtimeCmd builds a command of the OCI runtime rt with the driver's
// state root for it.
func (d *Driver) runtimeCmd(ctx context.Context, rt string, args ...string) *exec.Cmd {
	global := []string{"--root", filepath.Join(d.root, rt)}
	if rt == "runsc" {
		global = append(global, runscFlags...)
	}
	bin := rt
	if p, ok := d.runtimeBinaries[rt]; ok {
		bin = p
	}
	return exec.CommandContext(ctx, bin, append(global, args...)...)
}

// criuCmd is runtimeCmd for a checkpoint or a restore by the CRIU at
// criu. runc runs CRIU by the name "criu" from its PATH: 1.1 defaults its
// --criu option to that name, and 1.4 removed the option. So the
// command's PATH starts with that CRIU's directory, and no version is
// given an option it may refuse. An empty criu (runsc, which needs none)
// leaves the PATH as it is.
func (d *Driver) criuCmd(ctx context.Context, rt, criu string, args ...string) *exec.Cmd {
	cmd := d.runtimeCmd(ctx, rt, args...)
	if criu != "" {
		cmd.Env = pathFirst(os.Environ(), filepath.Dir(criu))
	}
	return cmd
}

// pathFirst returns env with dir first on its PATH.
func pathFirst(env []string, dir string) []string {
	out := make([]string, 0, len(env)+1)
	path := "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
			continue
		}
		out = append(out, kv)
	}
	return append(out, "PATH="+dir+string(os.PathListSeparator)+path)
}

// runRuntime runs a runtime command and turns its failure into an error
// carrying the runtime's own message.
func (d *Driver) runRuntime(ctx context.Context, rt string, args ...string) ([]byte, error) {
	return runCmd(d.runtimeCmd(ctx, rt, args...), rt, args)
}

// runCmd runs cmd, a command of the runtime rt with args, as runRuntime.
func runCmd(cmd *exec.Cmd, rt string, args []string) ([]byte, error) {
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), runtimeError(rt, args, err, stderr.String())
	}
	return stdout.Bytes(), nil
}

// errContainerNotExist marks a runtime answer that the container is gone.
var errContainerNotExist = errors.New("container does not exist")

func runtimeError(rt string, args []string, err error, stderr string) error {
	msg := strings.TrimSpace(stderr)
	if i := strings.LastIndex(msg, "\n"); i >= 0 {
		msg = msg[i+1:]
	}
	verb := ""
	if len(args) > 0 {
		verb = args[0]
	}
	// runc says "does not exist"; crun, asked about a container it never
	// had, cannot open its state file.
	if strings.Contains(msg, "does not exist") || strings.Contains(msg, "not exist") ||
		(verb == "state" || verb == "delete" || verb == "kill") && strings.Contains(msg, "No such file or directory") {
		return fmt.Errorf("%s %s: %s: %w", rt, verb, msg, errContainerNotExist)
	}
	if msg == "" {
		msg = err.Error()
	}
	return fmt.Errorf("%s %s: %s", rt, verb, msg)
}

// containerState is the part of `<runtime> state` the driver reads.
type containerState struct {
	ID     string `json:"id"`
	Pid    int    `json:"pid"`
	Status string `json:"status"`
}

// state asks the runtime about a container; errContainerNotExist when it
// has none.
func (d *Driver) state(ctx context.Context, rt, id string) (containerState, error) {
	var st containerState
	out, err := d.runRuntime(ctx, rt, "state", id)
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal(out, &st); err != nil {
		return st, fmt.Errorf("%s state %s: %w", rt, id, err)
	}
	return st, nil
}

// listContainers returns the ids of the containers in the runtime's root.
func (d *Driver) listContainers(ctx context.Context, rt string) ([]string, error) {
	if _, err := exec.LookPath(rt); err != nil {
		return nil, nil
	}
	out, err := d.runRuntime(ctx, rt, "list", "--format", "json")
	if err != nil {
		return nil, err
	}
	var cs []containerState
	if s := strings.TrimSpace(string(out)); s != "" && s != "null" {
		if err := json.Unmarshal(out, &cs); err != nil {
			return nil, fmt.Errorf("%s list: %w", rt, err)
		}
	}
	ids := make([]string, 0, len(cs))
	for _, c := range cs {
		ids = append(ids, c.ID)
	}
	return ids, nil
}

// runtimeFor resolves the runtime a spec asks for.
func (d *Driver) runtimeFor(asked string) (string, error) {
	if asked == "" || asked == d.runtime {
		return d.runtime, nil
	}
	if err := runtimeUsable(asked, d.cgroups, exec.LookPath); err != nil {
		return "", err
	}
	return asked, nil
}
