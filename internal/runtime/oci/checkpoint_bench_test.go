package oci

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/runtime"
)

// The checkpoint benchmarks report the median (p50) of each step beside
// Go's mean, and the checkpoint's size on disk:
//
//	go test -bench Checkpoint -benchtime 10x -run '^$' ./internal/runtime/oci/

// BenchmarkCheckpointIdle checkpoints and restores a sandbox whose only
// processes are its agent and an idle shell.
func BenchmarkCheckpointIdle(b *testing.B) {
	benchCheckpoint(b, "setsid bash -c 'sleep infinity' </dev/null >/dev/null 2>&1 &")
}

// BenchmarkCheckpointPython100MB checkpoints and restores a sandbox with
// a Python process holding 100 MB of its own (written, so resident) memory.
func BenchmarkCheckpointPython100MB(b *testing.B) {
	benchCheckpoint(b, `setsid python3 -c '
import time
b = bytearray(100 << 20)
for i in range(0, len(b), 4096): b[i] = 1
open("/tmp/ready", "w").close()
time.sleep(1e9)' </dev/null >/dev/null 2>&1 &
while [ ! -e /tmp/ready ]; do sleep 0.05; done`)
}

// benchCheckpoint measures one checkpoint and one restore per iteration,
// each of a fresh sandbox made ready by setup outside the measurement (a
// restored one would measure a restored agent's checkpoint instead).
func benchCheckpoint(b *testing.B, setup string) {
	if _, err := criuBinary(); err != nil {
		b.Skip(err)
	}
	d := newTestDriver(b, nil)
	ctx := context.Background()
	base := b.TempDir()
	var dumps, restores []time.Duration
	var size int64
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		id := fmt.Sprintf("benchckpt%d", i)
		if _, err := d.Create(ctx, runtime.Spec{ID: id, Template: "base"}); err != nil {
			b.Fatal(err)
		}
		if err := d.Start(ctx, id); err != nil {
			b.Fatal(err)
		}
		if res, err := d.Exec(ctx, id, runtime.ExecRequest{Args: []string{"/bin/bash", "-c", setup}}); err != nil || res.ExitCode != 0 {
			b.Fatalf("setup: %v %d", err, res.ExitCode)
		}
		dir := filepath.Join(base, id)
		b.StartTimer()
		t0 := time.Now()
		if err := d.Checkpoint(ctx, id, dir); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := d.Restore(ctx, id, dir); err != nil {
			b.Fatal(err)
		}
		dumps, restores = append(dumps, t1.Sub(t0)), append(restores, time.Since(t1))
		b.StopTimer()
		size = diskUsage(dir)
		_ = os.RemoveAll(dir)
		if err := d.Destroy(ctx, id); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(median(dumps).Microseconds())/1000, "checkpoint-p50-ms")
	b.ReportMetric(float64(median(restores).Microseconds())/1000, "restore-p50-ms")
	b.ReportMetric(float64(size)/(1<<20), "checkpoint-MiB")
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

// diskUsage is the space the files under dir take on disk.
func diskUsage(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			if info, err := e.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}
