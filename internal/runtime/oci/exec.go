package oci

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/runtime"
)

// Exec runs a process in the running sandbox through the runtime's exec,
// with the same capabilities, seccomp profile and no_new_privs setting as
// the agent. Cancelling ctx kills the process.
func (d *Driver) Exec(ctx context.Context, id string, req runtime.ExecRequest) (runtime.ExecResult, error) {
	var res runtime.ExecResult
	if err := runtime.ValidateID(id); err != nil {
		return res, err
	}
	if len(req.Args) == 0 || req.Args[0] == "" {
		return res, fmt.Errorf("exec in sandbox %q: args are required: %w", id, errdefs.ErrInvalidArgument)
	}
	st, err := d.readState(id)
	if err != nil {
		return res, err
	}
	status, _, err := d.status(ctx, st)
	if err != nil {
		return res, err
	}
	if status != runtime.StatusRunning {
		return res, fmt.Errorf("sandbox %q is %s, exec needs it running: %w", id, status, errdefs.ErrFailedPrecondition)
	}
	user := req.User
	if user == "" {
		user = "root"
	}
	acct, err := lookupUser(d.rootfsDir(id), user)
	if err != nil {
		return res, fmt.Errorf("exec in sandbox %q: %w", id, err)
	}
	cwd := req.Cwd
	if cwd == "" {
		cwd = acct.home
	}
	if !filepath.IsAbs(cwd) {
		return res, fmt.Errorf("exec in sandbox %q: cwd %q must be absolute: %w", id, cwd, errdefs.ErrInvalidArgument)
	}
	caps := append([]string(nil), sandboxCaps...)
	proc := specs.Process{
		Args: req.Args,
		Env: append([]string{
			"PATH=" + defaultPath, "HOME=" + acct.home, "USER=" + acct.name, "LOGNAME=" + acct.name, "LANG=C.UTF-8",
		}, req.Env...),
		Cwd:  cwd,
		User: specs.User{UID: acct.uid, GID: acct.gid, AdditionalGids: acct.groups},
		Capabilities: &specs.LinuxCapabilities{
			Bounding: caps, Effective: caps, Permitted: caps,
		},
		NoNewPrivileges: st.NoNewPrivileges,
	}
	dir, err := os.MkdirTemp(d.sandboxDir(id), "exec-")
	if err != nil {
		return res, fmt.Errorf("exec in sandbox %q: %w", id, err)
	}
	defer os.RemoveAll(dir)
	procFile, pidFile := filepath.Join(dir, "process.json"), filepath.Join(dir, "pid")
	if err := writeJSON(procFile, proc); err != nil {
		return res, fmt.Errorf("exec in sandbox %q: %w", id, err)
	}
	// In the sandbox's user cgroup, as the agent starts processes.
	args := append([]string{"exec", "--process", procFile, "--pid-file", pidFile}, d.userExecArgs(id)...)
	innerPidFile := filepath.Join(dir, "inner-pid")
	if st.Runtime == "runsc" {
		args = append(args, runscExecArgs(innerPidFile)...)
	}

	// Not CommandContext: killing runc would orphan the process inside.
	// On cancel the process itself is killed, and runc returns.
	cmd := d.runtimeCmd(context.Background(), st.Runtime, append(args, id)...)
	cmd.Stdin, cmd.Stdout = req.Stdin, req.Stdout
	var stderr limitedBuffer
	cmd.Stderr = &stderr
	if req.Stderr != nil {
		cmd.Stderr = &teeWriter{w: req.Stderr, keep: &stderr}
	}
	if err := cmd.Start(); err != nil {
		return res, fmt.Errorf("exec in sandbox %q: %w", id, err)
	}
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			if st.Runtime == "runsc" {
				d.killRunscExec(id, innerPidFile, done)
				return
			}
			// A cancel can come before the runtime wrote the pid file
			// (a slow runtime on a busy host): wait for it.
			for {
				if pid, err := readPidFile(pidFile); err == nil {
					_ = syscall.Kill(pid, syscall.SIGKILL)
					return
				}
				select {
				case <-done:
					return
				case <-time.After(10 * time.Millisecond):
				}
			}
		case <-done:
		}
	}()
	err = cmd.Wait()
	close(done)
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return res, nil
	case errors.As(err, &exitErr) && fileExists(pidFile):
		// The process ran: its exit status is runc's.
		res.ExitCode = exitErr.ExitCode()
		if ctx.Err() != nil {
			return res, fmt.Errorf("exec in sandbox %q: %w", id, ctx.Err())
		}
		return res, nil
	default:
		return res, fmt.Errorf("exec in sandbox %q: %w", id, runtimeError(st.Runtime, []string{"exec"}, err, stderr.String()))
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// teeWriter passes writes through and keeps a copy for error messages.
type teeWriter struct {
	w    interface{ Write([]byte) (int, error) }
	keep *limitedBuffer
}

func (t *teeWriter) Write(p []byte) (int, error) {
	_, _ = t.keep.Write(p)
	return t.w.Write(p)
}
