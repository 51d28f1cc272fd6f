package oci

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// HostRuntime is the OCI runtime this host runs sandboxes with when none
// is forced, chosen as New chooses it, and the cgroup layout that decided.
type HostRuntime struct {
	// Name is runc or crun (or the forced runtime).
	Name string
	// Version is the first line of `<runtime> --version` without the
	// leading "<name> version ", or empty when the binary does not say.
	Version string
	// Cgroups is "v2" on a pure cgroup v2 host, "v1" otherwise.
	Cgroups string
}

// DetectHostRuntime reports the runtime a driver on this host would run
// (forced, when not empty and usable). It needs no privileges.
func DetectHostRuntime(forced string) (HostRuntime, error) {
	layout, err := detectCgroups("")
	if err != nil {
		return HostRuntime{}, err
	}
	h := HostRuntime{Cgroups: "v1"}
	if layout.unified {
		h.Cgroups = "v2"
	}
	if h.Name, err = chooseRuntime(forced, layout, exec.LookPath); err != nil {
		return h, err
	}
	h.Version = runtimeVersion(h.Name)
	return h, nil
}

func runtimeVersion(name string) string {
	out, err := exec.Command(name, "--version").Output()
	if err != nil {
		return ""
	}
	first, _, _ := strings.Cut(string(out), "\n")
	return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(first), name+" version"))
}

// Baseline runs /bin/true in the plainest container the host's runtime
// can make of a root filesystem: read-only, no user namespace, overlay,
// disk image, seccomp profile or cgroup limits of ours. It is the floor a
// sandbox's start is compared with, so measuring it beside the sandboxes,
// on the same machine at the same time, separates SoulBox's cost from the
// runtime's and from the machine's noise.
type Baseline struct {
	runtime string
	bundle  string
	state   string
	prefix  string
	n       int
}

// NewBaseline prepares a bundle for rootfs under dir, which must exist and
// which the caller removes afterwards. runtime is runc or crun; empty
// chooses as DetectHostRuntime does. Running it needs root.
func NewBaseline(rootfs, runtime, dir string) (*Baseline, error) {
	h, err := DetectHostRuntime(runtime)
	if err != nil {
		return nil, err
	}
	if h.Name == "runsc" {
		return nil, fmt.Errorf("runtime baseline: runsc is not a baseline runtime, use runc or crun")
	}
	b := &Baseline{
		runtime: h.Name,
		bundle:  filepath.Join(dir, "bundle"),
		state:   filepath.Join(dir, "state"),
		// Unique per process, so that two baselines on one host do not
		// collide on container ids or cgroup names.
		prefix: fmt.Sprintf("soulbox-baseline-%d-", os.Getpid()),
	}
	if err := os.MkdirAll(b.bundle, 0o700); err != nil {
		return nil, fmt.Errorf("runtime baseline bundle: %w", err)
	}
	if err := writeJSON(filepath.Join(b.bundle, "config.json"), baselineSpec(rootfs)); err != nil {
		return nil, fmt.Errorf("runtime baseline bundle: %w", err)
	}
	return b, nil
}

// Runtime is the runtime the baseline runs.
func (b *Baseline) Runtime() string { return b.runtime }

// Run runs one container to its end and returns how long the runtime
// took, from its start to its exit.
func (b *Baseline) Run(ctx context.Context) (time.Duration, error) {
	b.n++
	id := fmt.Sprintf("%s%d", b.prefix, b.n)
	cmd := exec.CommandContext(ctx, b.runtime, "--root", b.state, "run", "--bundle", b.bundle, id)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	took := time.Since(start)
	if err != nil {
		// A runtime killed half-way (a cancelled ctx) leaves its container
		// behind; remove it with a context of its own.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_ = exec.CommandContext(dctx, b.runtime, "--root", b.state, "delete", "--force", id).Run()
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		return 0, runtimeError(b.runtime, []string{"run"}, err, stderr.String())
	}
	return took, nil
}

// baselineSpec is a container of rootfs running /bin/true with the
// namespaces every container has and nothing else.
func baselineSpec(rootfs string) *specs.Spec {
	return &specs.Spec{
		Version: specs.Version,
		Root:    &specs.Root{Path: rootfs, Readonly: true},
		Process: &specs.Process{Args: []string{"/bin/true"}, Cwd: "/", Env: []string{"PATH=" + defaultPath}},
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc"},
			{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "mode=755"}},
		},
		Linux: &specs.Linux{Namespaces: []specs.LinuxNamespace{
			{Type: specs.PIDNamespace}, {Type: specs.NetworkNamespace}, {Type: specs.IPCNamespace},
			{Type: specs.UTSNamespace}, {Type: specs.MountNamespace},
		}},
	}
}
