// Package soak_test is the leak soak: create, exec and kill cycles
// through a real `soulbox server`, mixed with the failures users cause
// (an unknown template, commands that fail or do not exist, a kill while
// a command runs, limits too small or out of bounds, sandboxes left to
// time out), then a check that the host holds nothing of them: no
// process, mount, cgroup, network namespace, loop device, uid range or
// file under the data dir.
//
// SOULBOX_SOAK_CYCLES sets the number of cycles (default 400, about three
// minutes on two cores; SOULBOX_SOAK_CYCLES=2000 is the full soak).
package soak_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/client"
	"github.com/soulbox/soulbox/internal/testutil"
	"github.com/soulbox/soulbox/tests/harness"
)

func TestMain(m *testing.M) { harness.Main(m) }

// kinds are the cycles, run in turn.
var kinds = []string{"normal", "unknown-template", "command-fails", "kill-during-exec",
	"normal", "tiny-memory", "bad-limits", "missing-command", "timeout-expires", "unknown-user"}

type soak struct {
	t   *testing.T
	srv *harness.Server

	mu       sync.Mutex
	outcomes map[string]int // kind + outcome -> count
	errs     int
}

func TestLeakSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("runs hundreds of real sandboxes through a server")
	}
	testutil.RequiresRoot(t)
	testutil.RequiresBinary(t, "runc")
	cycles := 400
	if v := os.Getenv("SOULBOX_SOAK_CYCLES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("SOULBOX_SOAK_CYCLES=%q: want a positive number", v)
		}
		cycles = n
	}
	// The warm pool on, small: claims and refills are paths to leak from
	// too.
	srv := harness.New(t, harness.Options{PoolMin: 1, PoolMax: 2})
	s := &soak{t: t, srv: srv, outcomes: map[string]int{}}
	fdsBefore := countFDs(srv.Pid())

	start := time.Now()
	const workers = 2
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				s.cycle(i, kinds[i%len(kinds)])
			}
		}()
	}
	ran := 0
	for ; ran < cycles && !t.Failed(); ran++ {
		next <- ran
	}
	close(next)
	wg.Wait()
	took := time.Since(start)

	// Sandboxes left to time out end by themselves.
	deadline := time.Now().Add(30 * time.Second)
	var live []client.Sandbox
	for {
		var err error
		if live, err = srv.Client.List(context.Background(), client.ListOptions{}); err != nil {
			t.Fatal(err)
		}
		if len(live) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if len(live) > 0 {
		t.Errorf("%d sandboxes still live after every cycle ended: %+v", len(live), live)
	}
	fdsAfter := countFDs(srv.Pid())
	t.Logf("%d cycles in %v (%.1f/s); server fds %d -> %d; outcomes %v",
		ran, took.Round(time.Second), float64(ran)/took.Seconds(), fdsBefore, fdsAfter, s.outcomes)

	// Leftovers with the server still up (nothing live may hold
	// anything), then after a clean stop (which drains the pool).
	if l := append(srv.Leftovers(nil), srv.ProcessesUnder(nil)...); len(l) > 0 {
		// Pooled sandboxes are live but in no listing: only report
		// what is not theirs after the stop below.
		t.Logf("before stop (pooled sandboxes included): %d items", len(l))
	}
	srv.Stop()
	if l := append(srv.Leftovers(nil), srv.ProcessesUnder(nil)...); len(l) > 0 {
		t.Errorf("left on the host after %d cycles and a stop:\n%s", ran, strings.Join(l, "\n"))
	}
	parents := srv.CgroupParents()
	if len(parents) == 0 {
		t.Error("no cgroup parent of the server's sandboxes was seen")
	}
	var left []string
	for _, p := range parents {
		if _, err := os.Stat(p); err == nil {
			left = append(left, p)
		}
	}
	if len(left) > 0 {
		t.Errorf("the server's cgroup parents are left after its last sandbox: %v", left)
	}
}

func countFDs(pid int) int {
	entries, _ := os.ReadDir(filepath.Join("/proc", strconv.Itoa(pid), "fd"))
	return len(entries)
}

func (s *soak) note(kind, outcome string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.outcomes[kind+": "+outcome]++
}

// fail reports an unexpected outcome (the first 20 in full).
func (s *soak) fail(i int, kind, format string, args ...any) {
	s.mu.Lock()
	s.errs++
	n := s.errs
	s.mu.Unlock()
	if n <= 20 {
		s.t.Errorf("cycle %d (%s): %s", i, kind, fmt.Sprintf(format, args...))
	} else if n == 21 {
		s.t.Errorf("more failures not shown")
	}
}

func status(err error) string {
	var ae *client.Error
	if errors.As(err, &ae) {
		return strconv.Itoa(ae.Status)
	}
	if err != nil {
		return "error"
	}
	return "ok"
}

func (s *soak) create(i int, kind string, o client.CreateOptions) (client.Sandbox, error) {
	if o.Template == "" {
		o.Template = "base"
	}
	if o.Timeout == 0 {
		o.Timeout = 5 * time.Minute
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sb, err := s.srv.Client.Create(ctx, o)
	if err == nil {
		s.srv.Observe(sb.SandboxID)
	}
	return sb, err
}

func (s *soak) kill(i int, kind string, sb client.Sandbox) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.srv.Client.Kill(ctx, sb.SandboxID); err != nil {
		s.fail(i, kind, "kill %s: %v", sb.SandboxID, err)
	}
}

func (s *soak) cycle(i int, kind string) {
	switch kind {
	case "normal":
		sb, err := s.create(i, kind, client.CreateOptions{})
		if err != nil {
			s.fail(i, kind, "create: %v", err)
			return
		}
		defer s.kill(i, kind, sb)
		if o := s.srv.Run(sb, "user", "echo hi", time.Minute); o.Err != nil || o.Code != 0 || o.Text != "hi\n" {
			s.fail(i, kind, "exec: %+v", o)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		body := []byte(fmt.Sprintf("cycle %d", i))
		if err := s.srv.Client.Upload(ctx, sb, "/home/user/f.txt", bytes.NewReader(body), int64(len(body))); err != nil {
			s.fail(i, kind, "upload: %v", err)
			return
		}
		var got bytes.Buffer
		if err := s.srv.Client.Download(ctx, sb, "/home/user/f.txt", &got); err != nil || !bytes.Equal(got.Bytes(), body) {
			s.fail(i, kind, "download: %q, %v", got.Bytes(), err)
			return
		}
		s.note(kind, "ok")
	case "unknown-template":
		_, err := s.create(i, kind, client.CreateOptions{Template: "no-such-template"})
		if status(err) != "404" {
			s.fail(i, kind, "create answered %v, want 404", err)
		}
		s.note(kind, status(err))
	case "bad-limits":
		_, err := s.create(i, kind, client.CreateOptions{CPUCount: 999})
		if status(err) != "400" {
			s.fail(i, kind, "create with 999 CPUs answered %v, want 400", err)
		}
		_, err = s.create(i, kind, client.CreateOptions{MemoryMB: 1})
		if status(err) != "400" {
			s.fail(i, kind, "create with 1 MiB answered %v, want 400", err)
		}
		s.note(kind, status(err))
	case "tiny-memory":
		// The smallest memory allowed: the sandbox may or may not manage
		// to start; either way the answer is not a server error and
		// nothing stays behind.
		sb, err := s.create(i, kind, client.CreateOptions{MemoryMB: 32})
		if err != nil {
			if st := status(err); st == "error" || strings.HasPrefix(st, "5") && st != "503" && st != "507" {
				s.fail(i, kind, "create with 32 MiB: %v", err)
			}
			s.note(kind, status(err))
			return
		}
		defer s.kill(i, kind, sb)
		o := s.srv.Run(sb, "user", `python3 -c 'b = bytearray(64 << 20)'`, time.Minute)
		s.note(kind, fmt.Sprintf("created, 64 MiB allocation exit %d", o.Code))
	case "command-fails":
		sb, err := s.create(i, kind, client.CreateOptions{})
		if err != nil {
			s.fail(i, kind, "create: %v", err)
			return
		}
		defer s.kill(i, kind, sb)
		if o := s.srv.Run(sb, "user", "echo out; echo err >&2; exit 3", time.Minute); o.Err != nil || o.Code != 3 {
			s.fail(i, kind, "exec: %+v, want exit 3", o)
		}
		s.note(kind, "ok")
	case "missing-command":
		sb, err := s.create(i, kind, client.CreateOptions{})
		if err != nil {
			s.fail(i, kind, "create: %v", err)
			return
		}
		defer s.kill(i, kind, sb)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		code, err := s.srv.Client.Exec(ctx, sb, []string{"/no/such/command"}, client.ExecOptions{})
		if err == nil && code == 0 {
			s.fail(i, kind, "a missing command ran")
		}
		s.note(kind, "refused")
	case "unknown-user":
		sb, err := s.create(i, kind, client.CreateOptions{})
		if err != nil {
			s.fail(i, kind, "create: %v", err)
			return
		}
		defer s.kill(i, kind, sb)
		if o := s.srv.Run(sb, "nobody-here", "true", time.Minute); o.Err == nil && o.Code == 0 {
			s.fail(i, kind, "a command ran as an unknown user")
		}
		s.note(kind, "refused")
	case "kill-during-exec":
		sb, err := s.create(i, kind, client.CreateOptions{})
		if err != nil {
			s.fail(i, kind, "create: %v", err)
			return
		}
		done := make(chan harness.Output, 1)
		go func() { done <- s.srv.Run(sb, "user", "echo started; sleep 60", 2*time.Minute) }()
		time.Sleep(time.Duration(50+i%5*50) * time.Millisecond)
		s.kill(i, kind, sb)
		select {
		case o := <-done:
			if o.Err == nil && o.Code == 0 {
				s.fail(i, kind, "the command outlived its sandbox: %+v", o)
			}
		case <-time.After(30 * time.Second):
			s.fail(i, kind, "the command's stream did not end within 30s of the kill")
		}
		s.note(kind, "ok")
	case "timeout-expires":
		sb, err := s.create(i, kind, client.CreateOptions{Timeout: time.Second})
		if err != nil {
			s.fail(i, kind, "create: %v", err)
			return
		}
		_ = sb // ends by itself; the end of the soak waits for it
		s.note(kind, "ok")
	}
}
