package template

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// buildPath is the PATH of build commands, on the host and in the chroot.
// It is fixed rather than inherited: debootstrap and chroot live in sbin,
// which a non-login root shell may lack.
const buildPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// stopGrace is how long a cancelled command gets to clean up (debootstrap
// unmounts what it mounted on SIGTERM) before it is killed.
const stopGrace = 30 * time.Second

// buildEnv is the environment of build commands: fixed, plus the host's
// proxy settings, without which the mirror may be unreachable.
func buildEnv() []string {
	env := []string{
		"PATH=" + buildPath,
		"LANG=C.UTF-8",
		"HOME=/root",
		"DEBIAN_FRONTEND=noninteractive",
	}
	for _, k := range []string{"http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// lookBuildPath finds name in buildPath; exec.LookPath would search the
// caller's PATH instead.
func lookBuildPath(name string) (string, error) {
	for _, dir := range filepath.SplitList(buildPath) {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found in %s", name, buildPath)
}

// run runs a build command with its output going to out. The command gets
// its own process group so cancelling stops its children too (dpkg,
// maintainer scripts), and nothing of it survives run.
func run(ctx context.Context, out *lineWriter, name string, args ...string) error {
	path, err := lookBuildPath(name)
	if err != nil {
		return err
	}
	cmdline := strings.Join(append([]string{name}, args...), " ")
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = buildEnv()
	cmd.Dir = "/"
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		return unix.Kill(-cmd.Process.Pid, unix.SIGTERM)
	}
	cmd.WaitDelay = stopGrace
	err = cmd.Run()
	if cmd.Process != nil {
		// Stragglers (a daemon a maintainer script started, a child that
		// ignored SIGTERM) would keep files open and mounts busy.
		_ = unix.Kill(-cmd.Process.Pid, unix.SIGKILL)
	}
	out.Flush()
	tail := out.Tail()
	if errors.Is(err, exec.ErrWaitDelay) && cmd.ProcessState != nil && cmd.ProcessState.Success() {
		// It succeeded; only a straggler held its output open.
		err = nil
	}
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return fmt.Errorf("%s: %w", name, ctx.Err())
	}
	if tail != "" {
		return fmt.Errorf("%s: %w (last output: %s)", cmdline, err, tail)
	}
	return fmt.Errorf("%s: %w", cmdline, err)
}
