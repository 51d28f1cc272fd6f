package runtimetest

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/runtime"
)

func (s *suite) testExec(t *testing.T) {
	info := s.start(t, runtime.Limits{})
	ctx := context.Background()
	t.Run("ExitCode", func(t *testing.T) {
		if _, _, code := s.run(t, info.ID, "exit 3"); code != 3 {
			t.Errorf("exit code = %d, want 3", code)
		}
	})
	t.Run("StdinStdoutStderr", func(t *testing.T) {
		var out, errOut bytes.Buffer
		_, err := s.d.Exec(ctx, info.ID, runtime.ExecRequest{
			Args:  []string{"/bin/bash", "-c", "tr a-z A-Z; echo oops >&2"},
			Stdin: strings.NewReader("hello sandbox\n"), Stdout: &out, Stderr: &errOut,
		})
		if err != nil {
			t.Fatal(err)
		}
		if out.String() != "HELLO SANDBOX\n" || errOut.String() != "oops\n" {
			t.Errorf("stdout %q stderr %q", out.String(), errOut.String())
		}
	})
	t.Run("UserEnvCwd", func(t *testing.T) {
		var out bytes.Buffer
		_, err := s.d.Exec(ctx, info.ID, runtime.ExecRequest{
			Args: []string{"/bin/bash", "-c", `echo "$(id -u) $(id -g) $(id -un) $PWD $HOME $GREETING"`},
			User: "user", Env: []string{"GREETING=hi"}, Stdout: &out,
		})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := strings.TrimSpace(out.String()), "1000 1000 user /home/user /home/user hi"; got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	})
	t.Run("UnknownUser", func(t *testing.T) {
		_, err := s.d.Exec(ctx, info.ID, runtime.ExecRequest{Args: []string{"true"}, User: "nobody-here"})
		wantErr(t, err, errdefs.ErrNotFound, "exec as unknown user")
	})
	t.Run("NoArgs", func(t *testing.T) {
		_, err := s.d.Exec(ctx, info.ID, runtime.ExecRequest{})
		wantErr(t, err, errdefs.ErrInvalidArgument, "exec without args")
	})
	t.Run("CancelKillsProcess", func(t *testing.T) {
		cctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := s.d.Exec(cctx, info.ID, runtime.ExecRequest{Args: []string{"sleep", "60"}})
		if err == nil {
			t.Fatal("exec of sleep 60 with a 300ms context returned no error")
		}
		if time.Since(start) > 30*time.Second {
			t.Errorf("cancelled exec took %v", time.Since(start))
		}
		if out := s.mustRun(t, info.ID, "pgrep -x sleep || true"); out != "" {
			t.Errorf("sleep still runs after cancel: pids %s", out)
		}
	})
	t.Run("ZombiesReaped", func(t *testing.T) {
		// Orphans re-parent to pid 1, which must wait for them. A zombie
		// it does not reap stays for good; one it is about to reap goes
		// within moments, however busy the host.
		s.mustRun(t, info.ID, "(sleep 0.1 &) ; sleep 0.5")
		deadline := time.Now().Add(10 * time.Second)
		for {
			out := s.mustRun(t, info.ID, "ps -e -o stat= | grep -c '^Z' || true")
			if out == "0" {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("%s zombie processes left in the sandbox", out)
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
}

func (s *suite) testTemplateUnchanged(t *testing.T) {
	a := s.start(t, runtime.Limits{})
	s.mustRun(t, a.ID, "echo tampered > /etc/os-release && rm -f /bin/ls && touch /etc/soulbox-marker && chown user /etc/hostname")
	b := s.start(t, runtime.Limits{})
	out := s.mustRun(t, b.ID, "grep -c tampered /etc/os-release || true; test -e /bin/ls && echo ls-present; test -e /etc/soulbox-marker && echo marker-present; true")
	if out != "0\nls-present" {
		t.Errorf("a second sandbox sees the first one's writes: %q", out)
	}
}

func (s *suite) testPauseResume(t *testing.T) {
	info := s.start(t, runtime.Limits{})
	ctx := context.Background()
	s.mustRun(t, info.ID, "(while true; do date +%s%N > /tmp/tick; sleep 0.01; done) >/dev/null 2>&1 &")
	if err := s.d.Pause(ctx, info.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.d.Info(ctx, info.ID); got.Status != runtime.StatusPaused {
		t.Fatalf("status = %s, want paused", got.Status)
	}
	wantErr(t, s.d.Pause(ctx, info.ID), errdefs.ErrFailedPrecondition, "pause of a paused sandbox")
	wantErr(t, s.d.Start(ctx, info.ID), errdefs.ErrFailedPrecondition, "start of a paused sandbox")
	_, err := s.d.Exec(ctx, info.ID, runtime.ExecRequest{Args: []string{"true"}})
	wantErr(t, err, errdefs.ErrFailedPrecondition, "exec in a paused sandbox")
	if err := s.d.Resume(ctx, info.ID); err != nil {
		t.Fatal(err)
	}
	wantErr(t, s.d.Resume(ctx, info.ID), errdefs.ErrFailedPrecondition, "resume of a running sandbox")
	wantErr(t, s.d.Start(ctx, info.ID), errdefs.ErrFailedPrecondition, "start of a running sandbox")
	// The background loop kept its state and runs again. It ticks every
	// 10 ms on a quiet host; a busy one may hold it back for a while, so
	// the test waits for a tick rather than for a fixed time.
	before := s.mustRun(t, info.ID, "cat /tmp/tick")
	deadline := time.Now().Add(10 * time.Second)
	for s.mustRun(t, info.ID, "cat /tmp/tick") == before {
		if time.Now().After(deadline) {
			t.Fatalf("background process did not run in the 10 s after resume; processes:\n%s",
				s.mustRun(t, info.ID, "ps -e -o pid,stat,wchan:20,args"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *suite) testStats(t *testing.T) {
	info := s.start(t, runtime.Limits{CPUCount: 1, MemoryMB: 256, DiskMB: 512, Pids: 100})
	s.mustRun(t, info.ID, "head -c 20000000 /dev/urandom | sha256sum >/dev/null; head -c 8000000 /dev/zero > /root/f")
	st, err := s.d.Stats(context.Background(), info.ID)
	if err != nil {
		t.Fatal(err)
	}
	if st.CPUUsageNanos == 0 || st.MemoryUsage == 0 || st.Pids == 0 {
		t.Errorf("stats without usage: %+v", st)
	}
	if st.MemoryLimit != 256<<20 || st.PidsLimit != 100 {
		t.Errorf("limits in stats: memory %d pids %d", st.MemoryLimit, st.PidsLimit)
	}
	if st.DiskTotal < 400<<20 || st.DiskTotal > 512<<20 || st.DiskUsed < 8000000 {
		t.Errorf("disk: used %d of %d", st.DiskUsed, st.DiskTotal)
	}
	if got := s.mustRun(t, info.ID, "cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us 2>/dev/null || cut -d' ' -f1 /sys/fs/cgroup/cpu.max"); got != "100000" {
		t.Errorf("cpu quota seen inside = %q, want 100000 (1 CPU)", got)
	}
}

func (s *suite) testStopDestroy(t *testing.T) {
	ctx := context.Background()
	info := s.start(t, runtime.Limits{})
	s.mustRun(t, info.ID, "sleep 600 >/dev/null 2>&1 &")
	if err := s.d.Stop(ctx, info.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.d.Info(ctx, info.ID); got.Status != runtime.StatusStopped {
		t.Errorf("status after stop = %s", got.Status)
	}
	if err := s.d.Stop(ctx, info.ID); err != nil {
		t.Errorf("second stop: %v", err)
	}
	wantErr(t, s.d.Start(ctx, info.ID), errdefs.ErrFailedPrecondition, "start of a stopped sandbox")
	if err := s.d.Destroy(ctx, info.ID); err != nil {
		t.Fatal(err)
	}
	assertNoLeftovers(t, s.d, info)
	wantErr(t, s.d.Destroy(ctx, info.ID), errdefs.ErrNotFound, "second destroy")
	_, err := s.d.Info(ctx, info.ID)
	wantErr(t, err, errdefs.ErrNotFound, "info after destroy")
	_, err = s.d.Exec(ctx, info.ID, runtime.ExecRequest{Args: []string{"true"}})
	wantErr(t, err, errdefs.ErrNotFound, "exec after destroy")
}

func (s *suite) testConcurrent(t *testing.T) {
	const n = 4
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	ids := make([]string, n)
	for i := range n {
		ids[i] = newID("c")
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := ids[i]
			if _, err := s.d.Create(ctx, runtime.Spec{ID: id, Template: s.opts.Template}); err != nil {
				errs <- err
				return
			}
			if err := s.d.Start(ctx, id); err != nil {
				errs <- err
				return
			}
			var out bytes.Buffer
			if _, err := s.d.Exec(ctx, id, runtime.ExecRequest{Args: []string{"hostname"}, Stdout: &out}); err != nil {
				errs <- err
				return
			}
			if strings.TrimSpace(out.String()) != id {
				errs <- errorf("sandbox %s answered as %q", id, out.String())
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for _, id := range ids {
		if err := s.d.Destroy(ctx, id); err != nil && !errdefs.IsNotFound(err) {
			t.Errorf("destroy %s: %v", id, err)
		}
		assertNoLeftovers(t, s.d, runtime.Info{ID: id})
	}
}

func (s *suite) testDial(t *testing.T) {
	dialer, ok := s.d.(runtime.Dialer)
	if !ok {
		t.Skip("driver cannot dial into sandboxes")
	}
	info := s.start(t, runtime.Limits{})
	ctx := context.Background()
	// The agent listens on 49983; it may take a moment after start.
	var status string
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		conn, err := dialer.DialContext(ctx, info.ID, 49983)
		if err == nil {
			_, _ = conn.Write([]byte("GET /health HTTP/1.0\r\n\r\n"))
			buf := make([]byte, 64)
			n, _ := conn.Read(buf)
			conn.Close()
			status = string(buf[:n])
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.HasPrefix(status, "HTTP/1.0 204") {
		t.Fatalf("agent health through dial: %q", status)
	}
	// A port nobody listens on is refused, not hung.
	if conn, err := dialer.DialContext(ctx, info.ID, 9); err == nil {
		conn.Close()
		t.Error("dial to a closed port succeeded")
	}
	// The host's own loopback services are not what the sandbox's
	// loopback reaches: a listener on the host is invisible.
	if _, err := dialer.DialContext(ctx, info.ID, 0); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("port 0: %v", err)
	}
	_, err := dialer.DialContext(ctx, newID("x"), 49983)
	wantErr(t, err, errdefs.ErrNotFound, "dial unknown sandbox")
}
