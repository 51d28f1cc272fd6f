package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path"
	"slices"
	"strconv"
	"time"

	"github.com/soulbox/soulbox/internal/client"
	"github.com/soulbox/soulbox/sdk/go/soulbox"
)

// agentUploadBytes is the size of the upload the agent's throughput is
// taken on, the size E2B's agent is compared at.
const agentUploadBytes = 50 << 20

// agentUploads is how many uploads the throughput is the median of.
const agentUploads = 3

// measureAgentFiles times the agent's file paths as the e2b SDK drives
// them, through the server's proxy: a 50 MB upload as a multipart form
// (files.write), 1 KiB writes and reads, and how long after a write
// starts its watch event reaches a client watching the directory.
func measureAgentFiles(ctx context.Context, r *runner) error {
	return withSandbox(ctx, r, AgentFiles, func(sb client.Sandbox) error {
		h, err := r.cl.Handle(ctx, sb)
		if err != nil {
			return err
		}
		const dir = "/home/user/soulbox-bench"
		if _, err := h.Files.MakeDir(ctx, dir, nil); err != nil {
			return fmt.Errorf("make %s: %w", dir, err)
		}

		rates := make([]time.Duration, 0, agentUploads)
		for range agentUploads {
			start := time.Now()
			_, err := h.Files.WriteFiles(ctx, []soulbox.WriteEntry{{Path: dir + "/upload.bin", Data: newNoise(agentUploadBytes)}}, nil)
			if err != nil {
				return fmt.Errorf("upload %d bytes: %w", agentUploadBytes, err)
			}
			rates = append(rates, time.Since(start))
		}
		up := mbPerSec(agentUploadBytes, medianDuration(rates))
		r.rep.AgentUploadMBPerSec = &up

		small := bytes.Repeat([]byte("0123456789abcdef"), 64) // 1 KiB
		const smallPath = dir + "/small.txt"
		if r.rep.AgentWrite1KiBMs, err = r.sample(ctx, AgentFiles, func(ctx context.Context) (time.Duration, error) {
			start := time.Now()
			_, err := h.Files.WriteFiles(ctx, []soulbox.WriteEntry{{Path: smallPath, Data: bytes.NewReader(small)}}, nil)
			return time.Since(start), err
		}); err != nil {
			return fmt.Errorf("write 1 KiB: %w", err)
		}
		if r.rep.AgentRead1KiBMs, err = r.sample(ctx, AgentFiles, func(ctx context.Context) (time.Duration, error) {
			start := time.Now()
			b, err := h.Files.ReadFile(ctx, smallPath, nil)
			if err == nil && len(b) != len(small) {
				err = fmt.Errorf("read %d bytes of %d", len(b), len(small))
			}
			return time.Since(start), err
		}); err != nil {
			return fmt.Errorf("read 1 KiB: %w", err)
		}

		w, err := h.Files.Watch(ctx, dir, nil)
		if err != nil {
			return fmt.Errorf("watch %s: %w", dir, err)
		}
		defer w.Close()
		i := 0
		r.rep.AgentWatchEventMs, err = r.sample(ctx, AgentFiles, func(ctx context.Context) (time.Duration, error) {
			i++
			name := "watched-" + strconv.Itoa(i)
			start := time.Now()
			if _, err := h.Files.WriteFiles(ctx, []soulbox.WriteEntry{{Path: path.Join(dir, name), Data: bytes.NewReader(small)}}, nil); err != nil {
				return 0, err
			}
			return waitEvent(ctx, w, name, start)
		})
		if err != nil {
			return fmt.Errorf("watch events: %w", err)
		}
		return nil
	})
}

// waitEvent waits for the write event of name and returns the time since
// start.
func waitEvent(ctx context.Context, w *soulbox.Watcher, name string, start time.Time) (time.Duration, error) {
	timeout := time.NewTimer(10 * time.Second)
	defer timeout.Stop()
	for {
		select {
		case ev, ok := <-w.Events:
			if !ok {
				if err := w.Err(); err != nil {
					return 0, err
				}
				return 0, io.ErrUnexpectedEOF
			}
			if ev.Name == name && ev.Type == soulbox.EventWrite {
				return time.Since(start), nil
			}
		case <-timeout.C:
			return 0, fmt.Errorf("no write event for %s within 10 s", name)
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

// medianDuration is the nearest-rank median of ds.
func medianDuration(ds []time.Duration) time.Duration {
	ms := make([]float64, len(ds))
	for i, d := range ds {
		ms[i] = float64(d)
	}
	slices.Sort(ms)
	return time.Duration(NearestRank(ms, 50))
}
