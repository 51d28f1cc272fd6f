package oci

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/soulbox/soulbox/internal/runtime"
)

// The benchmarks measure what a user waits for and compare it with the raw
// runtime in the same run, so machine noise hits both alike:
//
//	go test -bench . -benchtime 20x -count 5 -run '^$' ./internal/runtime/oci/

// BenchmarkCreateStartExec is a new sandbox from the base template up to
// the end of its first command.
func BenchmarkCreateStartExec(b *testing.B) {
	d := newTestDriver(b, nil)
	ctx := context.Background()
	var ids []string
	b.Cleanup(func() {
		for _, id := range ids {
			_ = d.Destroy(ctx, id)
		}
	})
	for i := 0; b.Loop(); i++ {
		id := fmt.Sprintf("bench%d", i)
		ids = append(ids, id)
		if _, err := d.Create(ctx, runtime.Spec{ID: id, Template: "base"}); err != nil {
			b.Fatal(err)
		}
		if err := d.Start(ctx, id); err != nil {
			b.Fatal(err)
		}
		if res, err := d.Exec(ctx, id, runtime.ExecRequest{Args: []string{"/bin/true"}}); err != nil || res.ExitCode != 0 {
			b.Fatalf("exec: %v %d", err, res.ExitCode)
		}
		// Destroy outside the measurement, and at once, so that the host
		// does not fill up with sandboxes during a long run.
		b.StopTimer()
		_ = d.Destroy(ctx, id)
		b.StartTimer()
	}
}

// BenchmarkDestroy is the teardown of a running sandbox.
func BenchmarkDestroy(b *testing.B) {
	d := newTestDriver(b, nil)
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		id := fmt.Sprintf("benchd%d", i)
		if _, err := d.Create(ctx, runtime.Spec{ID: id, Template: "base"}); err != nil {
			b.Fatal(err)
		}
		if err := d.Start(ctx, id); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := d.Destroy(ctx, id); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRuncRunBaseline is the floor: `runc run` of /bin/true on the
// same template rootfs, read-only, with no user namespace, overlay, disk
// image or seccomp profile of ours.
func BenchmarkRuncRunBaseline(b *testing.B) {
	d := newTestDriver(b, nil)
	layers, err := d.templates.Layers(context.Background(), "base")
	if err != nil {
		b.Fatal(err)
	}
	bundle := b.TempDir()
	spec := &specs.Spec{
		Version: specs.Version,
		Root:    &specs.Root{Path: layers[0], Readonly: true},
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
	if err := writeJSON(filepath.Join(bundle, "config.json"), spec); err != nil {
		b.Fatal(err)
	}
	root := filepath.Join(b.TempDir(), "runc")
	for i := 0; b.Loop(); i++ {
		cmd := exec.Command("runc", "--root", root, "run", "--bundle", bundle, fmt.Sprintf("base%d", i))
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			b.Fatal(err)
		}
	}
}
