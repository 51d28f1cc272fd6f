package oci

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/logx"
	"github.com/soulbox/soulbox/internal/runtime"
)

// Create prepares a sandbox and leaves its agent ready to start. On any
// failure everything acquired so far is released before it returns.
func (d *Driver) Create(ctx context.Context, spec runtime.Spec) (info runtime.Info, err error) {
	return d.create(ctx, spec, nil)
}

// create is Create; seed, when set, fills the sandbox's empty writable
// layer (upper, to be owned from host uid hostUID) before the overlay is
// mounted on it, and the sandbox's identity is written over what it put.
func (d *Driver) create(ctx context.Context, spec runtime.Spec, seed func(upper string, hostUID uint32) error) (info runtime.Info, err error) {
	if err := spec.Validate(); err != nil {
		return info, err
	}
	limits := spec.Limits.WithDefaults()
	unlock := d.lock(spec.ID)
	defer unlock()

	rt, err := d.runtimeFor(spec.Runtime)
	if err != nil {
		return info, fmt.Errorf("sandbox %q: %w", spec.ID, err)
	}
	layers, err := d.templateLayers(ctx, spec)
	if err != nil {
		return info, fmt.Errorf("sandbox %q: %w", spec.ID, err)
	}
	if len(layers) == 0 {
		return info, fmt.Errorf("sandbox %q: template %q has no layers: %w", spec.ID, spec.Template, errdefs.ErrFailedPrecondition)
	}
	// The directory is the claim on the id: whoever creates it owns the
	// sandbox, so a duplicate fails here before touching anything.
	if err := os.Mkdir(d.sandboxDir(spec.ID), 0o711); err != nil {
		if errors.Is(err, os.ErrExist) {
			return info, fmt.Errorf("sandbox %q: %w", spec.ID, errdefs.ErrAlreadyExists)
		}
		return info, fmt.Errorf("sandbox %q: create directory: %w", spec.ID, err)
	}
	defer func() {
		if err != nil {
			// Cleanup must run even when ctx is what failed us.
			if cerr := d.teardown(context.WithoutCancel(ctx), spec.ID, rt); cerr != nil {
				d.log.Error("cleanup after failed create", logx.Sandbox(spec.ID), logx.Err(cerr))
			}
		}
	}()

	end := d.phase("create.slot+state")
	slot, hostUID, err := d.takeSlot(spec.ID)
	if err != nil {
		return info, err
	}
	st := sandboxState{
		ID: spec.ID, Template: spec.Template, Runtime: rt, Slot: slot, HostUID: hostUID,
		Layers: len(layers), TemplateLayers: spec.Layers, Limits: limits, CreatedAt: time.Now().UTC(),
		NoNewPrivileges: spec.NoNewPrivileges,
	}
	if err := d.writeState(st); err != nil {
		d.releaseSlot(slot, spec.ID)
		return info, err
	}
	end()
	end = d.phase("create.disk")
	if err := d.makeDisk(spec.ID, limits.DiskMB, hostUID); err != nil {
		return info, fmt.Errorf("sandbox %q: %w", spec.ID, err)
	}
	end()
	if seed != nil {
		end = d.phase("create.seed")
		if err := seed(filepath.Join(d.diskDir(spec.ID), "upper"), hostUID); err != nil {
			return info, fmt.Errorf("sandbox %q: %w", spec.ID, err)
		}
		end()
	}
	end = d.phase("create.rootfs")
	if err := d.mountRootfs(spec.ID, layers, hostUID); err != nil {
		return info, fmt.Errorf("sandbox %q: %w", spec.ID, err)
	}
	if err := d.writeIdentity(spec.ID, hostUID); err != nil {
		return info, fmt.Errorf("sandbox %q: %w", spec.ID, err)
	}
	end()
	// The parent cgroup must not be removed (by the teardown of the
	// driver's last other sandbox) between here and the runtime's create.
	d.parentMu.RLock()
	defer d.parentMu.RUnlock()
	end = d.phase("create.cgroups+config")
	userFiles, userFDs, err := d.prepareUserCgroup(spec.ID, rt, limits, 0)
	if err != nil {
		return info, fmt.Errorf("sandbox %q: %w", spec.ID, err)
	}
	defer closeFiles(userFiles)
	cfg := ociSpec(bundleSpec{
		id: spec.ID, rootfs: d.rootfsDir(spec.ID), hostUID: hostUID, limits: limits,
		env: spec.Env, agentPath: d.agentPath, noNewPriv: spec.NoNewPrivileges, runtime: rt,
		compat32: d.compat32, cgroupsPath: d.cgroups.cgroupsPath(spec.ID),
		userCgroups: userFDs, criuConfig: d.criuConfigPath(spec.ID),
	})
	if err := writeJSON(filepath.Join(d.sandboxDir(spec.ID), "config.json"), cfg); err != nil {
		return info, fmt.Errorf("sandbox %q: %w", spec.ID, err)
	}
	end()
	end = d.phase("create.runtime-create")
	pid, err := d.createContainer(ctx, rt, spec.ID, spec.Niceness, userFiles)
	if err != nil {
		return info, fmt.Errorf("sandbox %q: %w", spec.ID, err)
	}
	end()
	end = d.phase("create.network")
	if err := d.setupNetwork(ctx, spec, rt); err != nil {
		return info, err
	}
	end()
	if rt == "runsc" {
		// runsc's pid file names a process of its own, not the one its
		// state reports: ask it.
		return d.info(ctx, st)
	}
	// The runtime has just made the container, whose init waits for
	// start under the sandbox's lock: asking the runtime for its state
	// would cost a runtime process to learn what create told us.
	return runtime.Info{
		ID: st.ID, Template: st.Template, Runtime: st.Runtime, Status: runtime.StatusCreated, Pid: pid,
		CreatedAt: st.CreatedAt, Limits: st.Limits, HostUID: st.HostUID,
	}, nil
}

// createContainer runs `<runtime> create`. The runtime hands its own
// stdio to the agent, so both go to agent.log, passed as the file itself:
// a pipe would stay open as long as the agent lives and no goroutine of
// ours has to stay alive to drain it. The runtime's error messages land in
// the same file, ahead of anything the agent writes.
//
// extra are handed to the agent as its fds 3, 4, ... It returns the pid
// of the container's init, which becomes the agent.
func (d *Driver) createContainer(ctx context.Context, rt, id string, niceness int, extra []*os.File) (int, error) {
	logPath := filepath.Join(d.sandboxDir(id), "agent.log")
	logf, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return 0, fmt.Errorf("create agent log: %w", err)
	}
	defer logf.Close()
	pidFile := filepath.Join(d.sandboxDir(id), "init.pid")
	args := []string{"create", "--bundle", d.sandboxDir(id), "--pid-file", pidFile}
	if len(extra) > 0 {
		args = append(args, "--preserve-fds", strconv.Itoa(len(extra)))
	}
	cmd := d.runtimeCmd(ctx, rt, append(args, id)...)
	cmd.ExtraFiles = extra
	if niceness > 0 {
		// Through nice(1): the runtime forks the sandbox's first process
		// at once, and only a niceness set before that is inherited by it
		// and everything it starts. Without nice the sandbox just starts
		// at normal priority.
		if nice, err := exec.LookPath("nice"); err == nil {
			cmd.Args = append([]string{"nice", "-n", strconv.Itoa(niceness), cmd.Path}, cmd.Args[1:]...)
			cmd.Path = nice
		}
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Run(); err != nil {
		return 0, runtimeError(rt, []string{"create"}, err, tail(logPath, 4096))
	}
	return readPidFile(pidFile)
}

// tail returns up to the last n bytes of a file.
func tail(path string, n int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > n {
		_, _ = f.Seek(st.Size()-n, io.SeekStart)
	}
	b, _ := io.ReadAll(f)
	return string(b)
}

// writeIdentity gives the sandbox its /etc/hostname and /etc/hosts, owned
// by its root so that it can change them.
func (d *Driver) writeIdentity(id string, hostUID uint32) error {
	etc := filepath.Join(d.rootfsDir(id), "etc")
	files := map[string]string{
		"hostname": id + "\n",
		"hosts":    "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t" + id + "\n",
	}
	for name, content := range files {
		p := filepath.Join(etc, name)
		// The rootfs is the template plus an empty upper layer at this
		// point (or a seeded one whose /etc is a plain directory without
		// these files: seedIdentityFree), so no path in it is under the
		// sandbox's control yet.
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return fmt.Errorf("write /etc/%s: %w", name, err)
		}
		if err := os.Lchown(p, int(hostUID), int(hostUID)); err != nil {
			return fmt.Errorf("chown /etc/%s: %w", name, err)
		}
	}
	return nil
}

func writeJSON(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}

func readPidFile(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("read pid file: %w", err)
	}
	pid, err := strconv.Atoi(string(b))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("pid file %s holds %q", path, b)
	}
	return pid, nil
}

// limitedBuffer keeps the last 64 KiB written to it: enough for an error
// message, bounded whatever a runtime prints.
type limitedBuffer struct{ b []byte }

func (l *limitedBuffer) Write(p []byte) (int, error) {
	l.b = append(l.b, p...)
	if over := len(l.b) - 64<<10; over > 0 {
		l.b = l.b[over:]
	}
	return len(p), nil
}

func (l *limitedBuffer) String() string { return string(l.b) }
