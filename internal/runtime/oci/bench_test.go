package oci

import (
	"context"
	"fmt"
	"testing"

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
// image or seccomp profile of ours (the Baseline soulbox bench runs too).
func BenchmarkRuncRunBaseline(b *testing.B) {
	d := newTestDriver(b, nil)
	layers, err := d.templates.Layers(context.Background(), "base")
	if err != nil {
		b.Fatal(err)
	}
	base, err := NewBaseline(layers[0], "runc", b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := base.Run(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}
