package soulbox_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/soulbox/soulbox/sdk/go/soulbox"
)

func TestCommands(t *testing.T) {
	ctx := context.Background()
	c := newClient(t)
	sb := newSandbox(t, c, soulbox.CreateOptions{EnvVars: map[string]string{"FROM_CREATE": "yes"}})

	t.Run("RunStreams", func(t *testing.T) {
		var out, errOut bytes.Buffer
		var mu sync.Mutex
		var chunks []string
		r, err := sb.Commands.Run(ctx, `echo out; echo err >&2; echo "$FROM_CREATE $X $(pwd) $(whoami)"`, &soulbox.RunOptions{
			Stdout: &out, Stderr: &errOut, Envs: map[string]string{"X": "x"}, Cwd: "/tmp",
			OnStdout: func(b []byte) { mu.Lock(); chunks = append(chunks, string(b)); mu.Unlock() },
		})
		if err != nil {
			t.Fatal(err)
		}
		if r.Stdout != "out\nyes x /tmp user\n" || r.Stderr != "err\n" || r.ExitCode != 0 {
			t.Errorf("result = %+v", r)
		}
		if out.String() != r.Stdout || errOut.String() != r.Stderr || strings.Join(chunks, "") != r.Stdout {
			t.Errorf("writers got %q %q, callback %q", out.String(), errOut.String(), chunks)
		}
	})

	t.Run("ExitCode", func(t *testing.T) {
		r, err := sb.Commands.Run(ctx, "echo partial; exit 3", nil)
		var ee *soulbox.ExitError
		if !errors.As(err, &ee) || ee.ExitCode != 3 || r.ExitCode != 3 || r.Stdout != "partial\n" {
			t.Errorf("Run(exit 3) = %+v, %v", r, err)
		}
	})

	t.Run("Stdin", func(t *testing.T) {
		r, err := sb.Commands.Run(ctx, "tr a-z A-Z", &soulbox.RunOptions{Stdin: strings.NewReader("hello stdin")})
		if err != nil || r.Stdout != "HELLO STDIN" {
			t.Errorf("Run with stdin = %+v, %v", r, err)
		}
	})

	t.Run("BackgroundHandle", func(t *testing.T) {
		h, err := sb.Commands.Start(ctx, "read line; echo got $line", &soulbox.RunOptions{OpenStdin: true, Tag: "reader"})
		if err != nil {
			t.Fatal(err)
		}
		procs, err := sb.Commands.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, p := range procs {
			found = found || (p.PID == h.PID && p.Tag == "reader")
		}
		if !found {
			t.Errorf("List = %+v, want pid %d tagged reader", procs, h.PID)
		}
		if err := h.SendStdin(ctx, []byte("ping\n")); err != nil {
			t.Fatal(err)
		}
		r, err := h.Wait()
		if err != nil || r.Stdout != "got ping\n" {
			t.Errorf("Wait = %+v, %v", r, err)
		}
	})

	t.Run("KillAndSignal", func(t *testing.T) {
		h, err := sb.Commands.Start(ctx, "sleep 600", nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := sb.Commands.Kill(ctx, h.PID); err != nil {
			t.Fatal(err)
		}
		if r, err := h.Wait(); r == nil || r.ExitCode != -1 || err == nil {
			t.Errorf("Wait after Kill = %+v, %v; want exit -1", r, err)
		}
		// The command says "armed" once its trap is in place; the signal
		// goes only then.
		armed := make(chan struct{})
		var armedOnce sync.Once
		var seen strings.Builder
		h, err = sb.Commands.Start(ctx, "trap 'echo bye; exit 7' TERM; echo armed; while :; do sleep 0.1; done", &soulbox.RunOptions{
			OnStdout: func(b []byte) {
				seen.Write(b) // callbacks come one at a time, in order
				if strings.Contains(seen.String(), "armed\n") {
					armedOnce.Do(func() { close(armed) })
				}
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		select {
		case <-armed:
		case <-time.After(15 * time.Second):
			t.Fatal("the command never said it had installed its trap")
		}
		if err := h.Signal(ctx, soulbox.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if r, _ := h.Wait(); r == nil || r.ExitCode != 7 || r.Stdout != "armed\nbye\n" {
			t.Errorf("after SIGTERM: %+v", r)
		}
		if err := sb.Commands.Kill(ctx, 999999); !errors.Is(err, soulbox.ErrNotFound) {
			t.Errorf("Kill of no process = %v, want ErrNotFound", err)
		}
		if err := sb.Commands.Signal(ctx, 1, soulbox.Signal(2)); !errors.Is(err, soulbox.ErrInvalidArgument) {
			t.Errorf("Signal(2) = %v, want ErrInvalidArgument", err)
		}
	})

	t.Run("ConnectAndDisconnect", func(t *testing.T) {
		h, err := sb.Commands.Start(ctx, "for i in 1 2 3 4 5 6 7 8 9 10; do echo $i; sleep 0.2; done", nil)
		if err != nil {
			t.Fatal(err)
		}
		h.Disconnect()
		var out bytes.Buffer
		h2, err := sb.Commands.Connect(ctx, h.PID, &soulbox.RunOptions{Stdout: &out})
		if err != nil {
			t.Fatal(err)
		}
		r, err := h2.Wait()
		if err != nil || r.ExitCode != 0 || !strings.HasSuffix(out.String(), "10\n") {
			t.Errorf("Connect after Disconnect: %+v %v, output %q", r, err, out.String())
		}
		// Cancelling a Connect's context detaches; the process runs on.
		h3, err := sb.Commands.Start(ctx, "sleep 30", nil)
		if err != nil {
			t.Fatal(err)
		}
		h3.Disconnect()
		cctx, cancel := context.WithCancel(ctx)
		h4, err := sb.Commands.Connect(cctx, h3.PID, nil)
		if err != nil {
			t.Fatal(err)
		}
		cancel()
		if _, err := h4.Wait(); !errors.Is(err, context.Canceled) {
			t.Errorf("Wait after cancelling Connect's context = %v, want context.Canceled", err)
		}
		if procs, _ := sb.Commands.List(ctx); !slices.ContainsFunc(procs, func(p soulbox.ProcessInfo) bool { return p.PID == h3.PID }) {
			t.Errorf("cancelling Connect's context ended the process")
		}
		sb.Commands.Kill(ctx, h3.PID)
		if _, err := sb.Commands.Connect(ctx, 999999, nil); !errors.Is(err, soulbox.ErrNotFound) {
			t.Errorf("Connect to no process = %v, want ErrNotFound", err)
		}
	})

	t.Run("CancelKillsTheCommand", func(t *testing.T) {
		cctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		defer cancel()
		_, err := sb.Commands.Run(cctx, "sleep 6001", nil)
		if !errors.Is(err, soulbox.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Run past its deadline = %v, want ErrTimeout", err)
		}
		// Killed by the SDK once it knows the pid, or by the agent when the
		// deadline passed before the start: either way within moments.
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			r, err := sb.Commands.Run(ctx, "pgrep -f 'sleep 600[1]' || echo none", nil)
			if err == nil && r.Stdout == "none\n" {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("the canceled command still runs: %+v %v", r, err)
				break
			}
		}
	})

	t.Run("ServerSideTimeout", func(t *testing.T) {
		_, err := sb.Commands.Run(ctx, "sleep 600", &soulbox.RunOptions{Timeout: 300 * time.Millisecond})
		if err == nil {
			t.Fatal("Run beyond its Timeout returned no error")
		}
	})

	t.Run("NoCommand", func(t *testing.T) {
		if _, err := sb.Commands.Exec(ctx, nil, nil); !errors.Is(err, soulbox.ErrInvalidArgument) {
			t.Errorf("Exec(nil) = %v", err)
		}
	})
}

func TestPTY(t *testing.T) {
	ctx := context.Background()
	sb := newSandbox(t, newClient(t), soulbox.CreateOptions{})
	term, err := sb.PTY.Create(ctx, &soulbox.PTYOptions{Cols: 100, Rows: 30})
	if err != nil {
		t.Fatal(err)
	}
	defer term.Close()
	var mu sync.Mutex
	var out bytes.Buffer
	done := make(chan struct{})
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := term.Read(buf)
			mu.Lock()
			out.Write(buf[:n])
			mu.Unlock()
			if err != nil {
				close(done)
				return
			}
		}
	}()
	if _, err := term.Write([]byte("stty size; tty\n")); err != nil {
		t.Fatal(err)
	}
	// Resize only once the shell has read the first size, or both
	// stty calls would see the new one.
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		mu.Lock()
		ok := strings.Contains(out.String(), "30 100")
		mu.Unlock()
		if ok {
			break
		}
		if time.Now().After(deadline) {
			mu.Lock()
			defer mu.Unlock()
			t.Fatalf("the shell never printed its first size:\n%q", out.String())
		}
	}
	if err := term.Resize(ctx, 120, 40); err != nil {
		t.Fatal(err)
	}
	if _, err := term.Write([]byte("stty size; exit 5\n")); err != nil {
		t.Fatal(err)
	}
	if code := term.Wait(); code != 5 {
		t.Errorf("shell exit code %d, want 5", code)
	}
	<-done
	s := out.String()
	if !strings.Contains(s, "30 100") || !strings.Contains(s, "40 120") || !strings.Contains(s, "/dev/pts/") {
		t.Errorf("terminal output lacks the sizes and tty:\n%q", s)
	}
}

// slowStart holds the requests that start processes for a while, as a
// slow network would, minding their context.
type slowStart struct{ hold time.Duration }

func (s slowStart) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.URL.Path, "/process.Process/Start") {
		select {
		case <-time.After(s.hold):
		case <-r.Context().Done():
			return nil, r.Context().Err()
		}
	}
	return http.DefaultTransport.RoundTrip(r)
}

// A context that ends before the command has started ends Exec at once,
// and the command never runs.
func TestExecHonoursContextBeforeStart(t *testing.T) {
	c := newClient(t)
	sb := newSandbox(t, c, soulbox.CreateOptions{})
	slow, err := soulbox.New(soulbox.Options{HTTPClient: &http.Client{Transport: slowStart{hold: 3 * time.Second}}})
	if err != nil {
		t.Fatal(err)
	}
	sbSlow, err := slow.Connect(context.Background(), sb.ID, 0)
	if err != nil {
		t.Fatal(err)
	}

	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if h, err := sb.Commands.Start(cancelled, "touch /tmp/ran-cancelled", nil); err == nil {
		h.Wait()
		t.Error("Start with a cancelled context started the command")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	h, err := sbSlow.Commands.Start(ctx, "touch /tmp/ran-late", nil)
	if err == nil {
		h.Wait()
		t.Errorf("Start past its deadline returned a handle after %v", time.Since(start))
	} else if !errors.Is(err, context.DeadlineExceeded) && !strings.Contains(err.Error(), "deadline") {
		t.Errorf("Start past its deadline: %v", err)
	}
	time.Sleep(3 * time.Second) // past the hold: a request let through would have run by now
	r, err := sb.Commands.Run(context.Background(), "ls /tmp/ran-cancelled /tmp/ran-late 2>&1; true", nil)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(r.Stdout, "No such file") != 2 {
		t.Errorf("a command whose context ended before it started ran: %q", r.Stdout)
	}
}
