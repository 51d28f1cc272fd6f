package oci

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/logx"
	"github.com/soulbox/soulbox/internal/runtime"
)

// restoreRunsc restores a gVisor sandbox: `runsc restore` starts a new
// Sentry from the image, which holds the sandbox's whole kernel state
// (processes, memory, gVisor's own cgroups and network stack), on the same
// bundle and root filesystem. Its stdio goes to agent.log, as at create.
func (d *Driver) restoreRunsc(ctx context.Context, st sandboxState, dir string) (err error) {
	id := st.ID
	d.releaseStopped(ctx, st)
	d.parentMu.RLock()
	defer d.parentMu.RUnlock()
	defer func() {
		if err != nil {
			d.releaseStopped(context.WithoutCancel(ctx), st)
			if kerr := d.killCgroup(id); kerr != nil {
				d.log.Error("clean up after failed restore", logx.Sandbox(id), logx.Err(kerr))
			}
		}
	}()
	logPath := filepath.Join(d.sandboxDir(id), "agent.log")
	logf, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("sandbox %q: open agent log: %w", id, err)
	}
	defer logf.Close()
	cmd := d.runtimeCmd(ctx, st.Runtime, "restore", "--detach", "--bundle", d.sandboxDir(id),
		"--image-path", filepath.Join(dir, "images"), "--pid-file", filepath.Join(d.sandboxDir(id), "init.pid"), id)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("sandbox %q: %w: %w", id, runtimeError(st.Runtime, []string{"restore"}, err, tail(logPath, 4096)), errdefs.ErrUnavailable)
	}
	status, _, err := d.status(ctx, st)
	if err != nil {
		return err
	}
	if status != runtime.StatusRunning {
		return fmt.Errorf("sandbox %q is %s right after restore: %w", id, status, errdefs.ErrUnavailable)
	}
	return nil
}
