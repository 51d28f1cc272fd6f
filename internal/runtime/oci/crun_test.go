package oci

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/soulbox/soulbox/internal/runtime"
	"github.com/soulbox/soulbox/internal/testutil"
)

// crunCommand runs crun; on a hybrid cgroup host, which crun refuses,
// in a mount namespace of its own without the v2 hierarchy, where it
// sees a plain v1 host.
func crunCommand(ctx context.Context, d *Driver, args ...string) *exec.Cmd {
	if d.cgroups.unified {
		return exec.CommandContext(ctx, "crun", args...)
	}
	return exec.CommandContext(ctx, "unshare", append([]string{"-m", "--propagation", "slave",
		"sh", "-c", `umount -l /sys/fs/cgroup/unified 2>/dev/null; exec crun "$@"`, "sh"}, args...)...)
}

// The config a sandbox gets for crun is one crun runs: Debian 12's crun
// refuses runtime-spec versions after 1.1.
func TestCrunRunsTheSandboxConfig(t *testing.T) {
	testutil.RequiresBinary(t, "crun")
	d := newTestDriver(t, nil)
	ctx := context.Background()
	layers, err := d.templates.Layers(ctx, "base")
	if err != nil {
		t.Fatal(err)
	}
	slot, hostUID, err := d.takeSlot("cruncfg")
	if err != nil {
		t.Fatal(err)
	}
	defer d.releaseSlot(slot, "cruncfg")
	s := ociSpec(bundleSpec{
		id: "cruncfg", rootfs: layers[0], hostUID: hostUID, limits: runtime.Limits{}.WithDefaults(),
		runtime: "crun", cgroupsPath: d.cgroups.cgroupsPath("cruncfg"),
	})
	// The template's layer as it is, read-only, and no agent: the config
	// is what is tested, not the rootfs the driver composes.
	s.Root.Readonly = true
	s.Process.Args = []string{"/bin/true"}
	s.Mounts = s.Mounts[:len(s.Mounts)-1]
	s.Annotations = nil
	bundle := t.TempDir()
	if err := writeJSON(filepath.Join(bundle, "config.json"), s); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = d.cgroups.remove("cruncfg")
		_ = d.cgroups.removeParent()
	})
	var out bytes.Buffer
	cmd := crunCommand(ctx, d, "--root", filepath.Join(t.TempDir(), "state"), "run", "--bundle", bundle, "cruncfg")
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("crun run of the sandbox config: %v: %s", err, out.String())
	}
}
