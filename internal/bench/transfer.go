package bench

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/soulbox/soulbox/internal/client"
)

// measureStdout times a command writing StdoutBytes to stdout, counted
// as the client receives them.
func measureStdout(ctx context.Context, r *runner) error {
	return withSandbox(ctx, r, Stdout, func(sb client.Sandbox) error {
		var n countingWriter
		argv := []string{"head", "-c", strconv.FormatInt(r.cfg.StdoutBytes, 10), "/dev/zero"}
		start := time.Now()
		code, err := r.cl.Exec(ctx, sb, argv, client.ExecOptions{Stdout: &n, Stderr: io.Discard})
		took := time.Since(start)
		if err != nil {
			return fmt.Errorf("stream stdout: %w", err)
		}
		if code != 0 || int64(n) != r.cfg.StdoutBytes {
			return fmt.Errorf("stream stdout: exit code %d, %d bytes received of %d", code, n, r.cfg.StdoutBytes)
		}
		rate := mbPerSec(int64(n), took)
		r.rep.StdoutMBPerSec, r.rep.StdoutBytes = &rate, int64(n)
		return nil
	})
}

// measureFiles times uploading a file of FileBytes and downloading it
// back. Its bytes do not compress, so that no layer on the way can make
// the transfer look faster than it is for real data.
func measureFiles(ctx context.Context, r *runner) error {
	return withSandbox(ctx, r, Files, func(sb client.Sandbox) error {
		const path = "/home/user/soulbox-bench.bin"
		size := r.cfg.FileBytes
		start := time.Now()
		if err := r.cl.Upload(ctx, sb, path, newNoise(size), size); err != nil {
			return fmt.Errorf("upload %s: %w", path, err)
		}
		write := mbPerSec(size, time.Since(start))
		r.rep.FileWriteMBPerSec, r.rep.FileBytes = &write, size

		var n countingWriter
		start = time.Now()
		if err := r.cl.Download(ctx, sb, path, &n); err != nil {
			return fmt.Errorf("download %s: %w", path, err)
		}
		took := time.Since(start)
		if int64(n) != size {
			return fmt.Errorf("download %s: %d bytes of %d", path, n, size)
		}
		read := mbPerSec(size, took)
		r.rep.FileReadMBPerSec = &read
		return nil
	})
}

// withSandbox runs f in a fresh sandbox, killed afterwards. Its first
// command runs before f, so that f does not time the agent's first start.
func withSandbox(ctx context.Context, r *runner, name string, f func(client.Sandbox) error) error {
	sb, err := r.fleet.create(ctx, false)
	if err != nil {
		return err
	}
	defer func() {
		if err := r.fleet.kill(ctx, sb.SandboxID); err != nil {
			r.fail(name, err)
		}
	}()
	if err := echoHi(ctx, r.cl, sb); err != nil {
		return fmt.Errorf("first command: %w", err)
	}
	return f(sb)
}

// mbPerSec is a rate in MB (10^6 bytes) per second, to one decimal.
func mbPerSec(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return roundTo(float64(n)/1e6/d.Seconds(), 1)
}

// countingWriter counts and discards.
type countingWriter int64

func (c *countingWriter) Write(p []byte) (int, error) {
	*c += countingWriter(len(p))
	return len(p), nil
}

// noise reads size bytes that do not compress: one MiB of random bytes,
// repeated. A repeat a MiB apart is beyond any stream compressor's window,
// and generating the MiB once keeps the generator out of the timing.
type noise struct {
	block []byte
	left  int64
	off   int
}

func newNoise(size int64) *noise {
	block := make([]byte, 1<<20)
	rng := rand.NewChaCha8([32]byte{'s', 'o', 'u', 'l', 'b', 'o', 'x'})
	_, _ = rng.Read(block)
	return &noise{block: block, left: size}
}

func (n *noise) Read(p []byte) (int, error) {
	if n.left == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > n.left {
		p = p[:n.left]
	}
	c := copy(p, n.block[n.off:])
	n.off = (n.off + c) % len(n.block)
	n.left -= int64(c)
	return c, nil
}
