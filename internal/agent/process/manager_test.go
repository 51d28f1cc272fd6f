package process

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"golang.org/x/sys/unix"

	"github.com/soulbox/soulbox/internal/agent/reaper"
	"github.com/soulbox/soulbox/internal/agent/users"
)

func newManager(t *testing.T) *Manager {
	ctx, cancel := context.WithCancel(context.Background())
	r := reaper.New()
	ran := make(chan struct{})
	go func() {
		defer close(ran)
		r.Run(ctx)
	}()
	// A reaper left running would collect the next test's children,
	// whose exits would then never reach that test's own reaper.
	t.Cleanup(func() {
		cancel()
		<-ran
	})
	return NewManager(r, func() map[string]string { return map[string]string{"FROM_INIT": "yes"} })
}

func self(t *testing.T) users.User {
	return users.User{Name: "tester", UID: uint32(os.Getuid()), GID: uint32(os.Getgid()), Home: t.TempDir()}
}

// run starts cfg and collects its output until the end.
func run(t *testing.T, m *Manager, cfg Config, input func(p *Proc)) (stdout, stderr string, exit Exit) {
	t.Helper()
	p, ready, err := m.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	events, leave := p.Subscribe()
	defer leave()
	ready()
	if input != nil {
		input(p)
	}
	timeout := time.After(20 * time.Second)
	var out, errOut strings.Builder
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatal("events closed before the end event")
			}
			if ev.End != nil {
				return out.String(), errOut.String(), *ev.End
			}
			if ev.Stream == Stderr {
				errOut.Write(ev.Data)
			} else {
				out.Write(ev.Data)
			}
		case <-timeout:
			t.Fatalf("%s %v did not end", cfg.Cmd, cfg.Args)
		}
	}
}

func TestStartStreamsOutputAndExit(t *testing.T) {
	m := newManager(t)
	u := self(t)
	out, errOut, exit := run(t, m, Config{Cmd: "/bin/bash", Args: []string{"-c", "echo out; echo err >&2; echo $FROM_INIT $MINE $HOME; pwd; exit 3"},
		Env: map[string]string{"MINE": "mine"}, User: u}, nil)
	if want := "out\nyes mine " + u.Home + "\n" + u.Home + "\n"; out != want {
		t.Errorf("stdout %q, want %q", out, want)
	}
	if errOut != "err\n" || exit.Code != 3 || !exit.Exited || exit.Status != "exit status 3" {
		t.Errorf("stderr %q exit %+v", errOut, exit)
	}
	if len(m.List()) != 0 {
		t.Errorf("ended process still listed: %v", m.List())
	}
}

func TestStdinAndClose(t *testing.T) {
	m := newManager(t)
	out, _, exit := run(t, m, Config{Cmd: "cat", User: self(t), Stdin: true}, func(p *Proc) {
		if err := p.WriteStdin([]byte("hello "), false); err != nil {
			t.Error(err)
		}
		if err := p.WriteStdin([]byte("world"), false); err != nil {
			t.Error(err)
		}
		if err := p.CloseStdin(); err != nil {
			t.Error(err)
		}
	})
	if out != "hello world" || exit.Code != 0 {
		t.Errorf("cat: %q %+v", out, exit)
	}
	// Without stdin the process reads EOF at once, and input is refused.
	out, _, _ = run(t, m, Config{Cmd: "cat", User: self(t)}, func(p *Proc) {
		if err := p.WriteStdin([]byte("x"), false); err == nil {
			t.Error("input accepted by a process without stdin")
		}
	})
	if out != "" {
		t.Errorf("cat without stdin printed %q", out)
	}
}

func TestPTY(t *testing.T) {
	m := newManager(t)
	out, _, exit := run(t, m, Config{Cmd: "/bin/bash", Args: []string{"-c", "stty size; tty >/dev/null && echo is-a-tty; read line; echo got:$line; echo $TERM"},
		User: self(t), PTY: &Size{Cols: 100, Rows: 30}}, func(p *Proc) {
		if err := p.WriteStdin([]byte("typed\n"), true); err != nil {
			t.Error(err)
		}
	})
	for _, want := range []string{"30 100", "is-a-tty", "got:typed", "xterm-256color"} {
		if !strings.Contains(out, want) {
			t.Errorf("pty output %q lacks %q", out, want)
		}
	}
	if exit.Code != 0 {
		t.Errorf("exit %+v", exit)
	}
}

func TestResize(t *testing.T) {
	m := newManager(t)
	out, _, _ := run(t, m, Config{Cmd: "/bin/bash", Args: []string{"-c", "read; stty size"},
		User: self(t), PTY: &Size{Cols: 80, Rows: 24}}, func(p *Proc) {
		if err := p.Resize(132, 43); err != nil {
			t.Error(err)
		}
		_ = p.WriteStdin([]byte("\n"), true)
	})
	if !strings.Contains(out, "43 132") {
		t.Errorf("after resize: %q", out)
	}
}

func TestSignalKillsTheGroupAndTagFinds(t *testing.T) {
	m := newManager(t)
	u := self(t)
	p, ready, err := m.Start(Config{Cmd: "/bin/bash", Args: []string{"-c", "sleep 300 & sleep 300; wait"}, User: u, Tag: "sleeper"})
	if err != nil {
		t.Fatal(err)
	}
	ready()
	if got, err := m.Get(0, "sleeper"); err != nil || got != p {
		t.Fatalf("by tag: %v %v", got, err)
	}
	if _, _, err := m.Start(Config{Cmd: "true", User: u, Tag: "sleeper"}); err == nil {
		t.Error("a second process with a running tag started")
	}
	events, leave := p.Subscribe()
	defer leave()
	// The signal goes once bash and both its children are in the group.
	for deadline := time.Now().Add(10 * time.Second); len(liveInGroup(p.Pid)) < 3; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the group is %v, want bash and its two sleeps", liveInGroup(p.Pid))
		}
	}
	if err := p.Signal(unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for ev := range events {
		if ev.End != nil {
			if ev.End.Exited || ev.End.Status != "signal: SIGKILL" {
				t.Errorf("end %+v", ev.End)
			}
		}
	}
	// Both sleeps were in the group and are gone (dead: an orphan stays a
	// zombie until whoever adopted it waits, which in a sandbox is us).
	// Dying takes a moment on a loaded host.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		live := liveInGroup(p.Pid)
		if len(live) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("processes %v of the group survived SIGKILL", live)
			break
		}
	}
	if _, err := m.Get(p.Pid, ""); err == nil {
		t.Error("killed process still found")
	}
}

func TestBackgroundChildDoesNotHoldTheEnd(t *testing.T) {
	m := newManager(t)
	start := time.Now()
	out, _, exit := run(t, m, Config{Cmd: "/bin/bash", Args: []string{"-c", "echo before; sleep 30 & echo after"}, User: self(t)}, nil)
	if out != "before\nafter\n" || exit.Code != 0 {
		t.Errorf("%q %+v", out, exit)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("end waited %v for a background child", d)
	}
}

func TestStartErrors(t *testing.T) {
	m := newManager(t)
	u := self(t)
	for _, cfg := range []Config{
		{Cmd: "", User: u},
		{Cmd: "no-such-command-anywhere", User: u},
		{Cmd: "true", User: u, Cwd: "/no/such/dir"},
		{Cmd: "/etc/hostname", User: u},
	} {
		if _, _, err := m.Start(cfg); err == nil {
			t.Errorf("Start(%+v) succeeded", cfg)
		}
	}
}

func TestSubscribeAfterEndGetsTheEnd(t *testing.T) {
	m := newManager(t)
	p, ready, err := m.Start(Config{Cmd: "true", User: self(t)})
	if err != nil {
		t.Fatal(err)
	}
	ready()
	<-p.Done()
	events, _ := p.Subscribe()
	ev := <-events
	if ev.End == nil || ev.End.Code != 0 {
		t.Errorf("late subscriber got %+v", ev)
	}
}

// liveInGroup lists the pids of processes in process group pgid that are
// not zombies.
func liveInGroup(pgid int) []string {
	entries, _ := os.ReadDir("/proc")
	var out []string
	for _, e := range entries {
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...: comm may hold spaces.
		rest := string(b[strings.LastIndexByte(string(b), ')')+2:])
		f := strings.Fields(rest)
		if len(f) > 2 && f[2] == strconv.Itoa(pgid) && f[0] != "Z" {
			out = append(out, e.Name())
		}
	}
	return out
}

// A start the kernel refuses for lack of pids (the sandbox's processes
// fill its limit) is answered resource_exhausted, saying what to do,
// instead of an internal error.
func TestStartAtTheProcessLimitSaysWhatToDo(t *testing.T) {
	fork := &os.SyscallError{Syscall: "fork/exec /bin/bash", Err: unix.EAGAIN}
	err := connectError(fmt.Errorf("start bash: %w", startError(fork)))
	var ce *connect.Error
	if !errors.As(err, &ce) || ce.Code() != connect.CodeResourceExhausted {
		t.Fatalf("got %v, want resource_exhausted", err)
	}
	for _, want := range []string{"process limit", "/processes/kill", "kill-processes"} {
		if !strings.Contains(ce.Message(), want) {
			t.Errorf("message %q does not say %q", ce.Message(), want)
		}
	}
}
