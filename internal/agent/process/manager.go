package process

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/soulbox/soulbox/internal/agent/reaper"
	"github.com/soulbox/soulbox/internal/agent/users"
)

// Errors the service maps to Connect codes.
var (
	ErrNotFound = errors.New("not found")
	ErrInvalid  = errors.New("invalid argument")
	// ErrLimit: the sandbox has no room for another process.
	ErrLimit = errors.New("resource exhausted")
)

// limitAdvice says what to do when the sandbox's processes fill its
// process limit: the agent, apart from them, still answers, and the host
// can end them all.
const limitAdvice = "the sandbox's processes have reached its process limit: " +
	"end some of them, or kill every process of the sandbox but its agent " +
	"(POST /sandboxes/{sandboxID}/processes/kill, `soulbox sandbox kill-processes ID`)"

// Config is what a process is started from.
type Config struct {
	Cmd   string
	Args  []string
	Env   map[string]string // added to the base environment
	Cwd   string            // empty: the user's home
	User  users.User
	Tag   string
	Stdin bool  // keep stdin open for SendInput/StreamInput
	PTY   *Size // run on a new terminal of this size
}

// Size is a terminal's size.
type Size struct{ Cols, Rows uint16 }

// Manager starts processes and keeps track of the running ones.
type Manager struct {
	reaper *reaper.Reaper
	// BaseEnv returns the environment every process starts with, before
	// Config.Env (the variables set through /init).
	BaseEnv func() map[string]string

	mu    sync.Mutex
	procs map[int]*Proc
}

// NewManager returns a manager whose children r waits for.
func NewManager(r *reaper.Reaper, baseEnv func() map[string]string) *Manager {
	return &Manager{reaper: r, BaseEnv: baseEnv, procs: map[int]*Proc{}}
}

// Get finds a running process by pid or, when pid is 0, by tag.
func (m *Manager) Get(pid int, tag string) (*Proc, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if pid != 0 {
		if p, ok := m.procs[pid]; ok {
			return p, nil
		}
		return nil, fmt.Errorf("process with pid %d: %w", pid, ErrNotFound)
	}
	for _, p := range m.procs {
		if tag != "" && p.Tag == tag {
			return p, nil
		}
	}
	return nil, fmt.Errorf("process with tag %q: %w", tag, ErrNotFound)
}

// List returns the running processes, by pid.
func (m *Manager) List() []*Proc {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]*Proc, 0, len(m.procs))
	for _, p := range m.procs {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Pid < out[j].Pid })
	return out
}

// Start starts a process. Its output is published to subscribers from the
// first byte: the caller subscribes through the returned proc before any
// output can be lost, because the readers wait for ready.
func (m *Manager) Start(cfg Config) (*Proc, func(), error) {
	if cfg.Cmd == "" {
		return nil, nil, fmt.Errorf("cmd is empty: %w", ErrInvalid)
	}
	if cfg.Tag != "" {
		if _, err := m.Get(0, cfg.Tag); err == nil {
			return nil, nil, fmt.Errorf("a process with tag %q is running: %w", cfg.Tag, ErrInvalid)
		}
	}
	cwd := cfg.Cwd
	if cwd == "" {
		cwd = cfg.User.Home
	}
	if st, err := os.Stat(cwd); err != nil || !st.IsDir() {
		return nil, nil, fmt.Errorf("cwd %q is not a directory: %w", cwd, ErrInvalid)
	}
	path, err := LookPath(cfg.Cmd, m.env(cfg))
	if err != nil {
		return nil, nil, err
	}

	io, err := newStdio(cfg)
	if err != nil {
		return nil, nil, err
	}
	attr := &syscall.SysProcAttr{
		Credential: &syscall.Credential{Uid: cfg.User.UID, Gid: cfg.User.GID, Groups: cfg.User.Groups},
		// Its own process group (or session, with a terminal) so that a
		// signal reaches the command's children too.
		Setpgid: cfg.PTY == nil,
		Setsid:  cfg.PTY != nil,
		Setctty: cfg.PTY != nil,
	}
	env := EnvList(m.env(cfg))
	pid, exited, err := m.reaper.Start(func() (int, error) {
		p, err := os.StartProcess(path, append([]string{cfg.Cmd}, cfg.Args...), &os.ProcAttr{
			Dir: cwd, Env: env, Files: io.child, Sys: attr,
		})
		if err != nil {
			return 0, err
		}
		pid := p.Pid
		_ = p.Release() // the reaper, not os.Process, waits for it
		return pid, nil
	})
	io.closeChildSide()
	if err != nil {
		io.closeAll()
		return nil, nil, fmt.Errorf("start %s: %w", cfg.Cmd, startError(err))
	}
	// The agent protects itself from the OOM killer; its children must
	// not inherit that.
	_ = os.WriteFile(fmt.Sprintf("/proc/%d/oom_score_adj", pid), []byte("0"), 0)

	p := &Proc{
		Pid: pid, Tag: cfg.Tag, Config: cfg, stdin: io.stdin, pty: io.pty,
		subs: map[*subscriber]struct{}{}, done: make(chan struct{}),
	}
	m.mu.Lock()
	m.procs[pid] = p
	m.mu.Unlock()

	ready := make(chan struct{})
	go m.watch(p, io, exited, ready)
	return p, func() { close(ready) }, nil
}

// watch copies the process's output to its subscribers and, once the
// process has exited and its output is drained, publishes its end.
func (m *Manager) watch(p *Proc, sio *stdio, exited <-chan unix.WaitStatus, ready <-chan struct{}) {
	<-ready
	var wg sync.WaitGroup
	for stream, r := range sio.readers() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			readOutput(r, func(b []byte) { p.publish(Event{Stream: stream, Data: b}) })
		}()
	}
	ws := <-exited
	// Output ends at EOF, which comes once every holder of the pipe or
	// terminal is gone. A background child (`sleep 100 &`) may hold it
	// far longer than the process lives: whatever is written within a
	// grace period after the exit is still delivered, then the end is.
	sio.deadline(outputGrace)
	wg.Wait()
	sio.closeAll()
	m.mu.Lock()
	delete(m.procs, p.Pid)
	m.mu.Unlock()
	p.finish(exitOf(ws))
}

func exitOf(ws unix.WaitStatus) Exit {
	switch {
	case ws.Exited():
		return Exit{Code: ws.ExitStatus(), Exited: true, Status: fmt.Sprintf("exit status %d", ws.ExitStatus())}
	case ws.Signaled():
		return Exit{Code: -1, Status: "signal: " + unix.SignalName(ws.Signal())}
	default:
		return Exit{Code: -1, Status: ws.StopSignal().String()}
	}
}

func (m *Manager) env(cfg Config) map[string]string {
	var base map[string]string
	if m.BaseEnv != nil {
		base = m.BaseEnv()
	}
	return Environ(base, cfg.User, cfg.PTY != nil, cfg.Env)
}

// Environ is the environment a process of user u starts with: base (the
// agent's and /init's variables), then the login variables of u, then
// extra. terminal adds a TERM for processes on a terminal.
func Environ(base map[string]string, u users.User, terminal bool, extra map[string]string) map[string]string {
	env := map[string]string{}
	for k, v := range base {
		env[k] = v
	}
	env["HOME"] = u.Home
	env["USER"] = u.Name
	env["LOGNAME"] = u.Name
	if env["PATH"] == "" {
		env["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	}
	if terminal && env["TERM"] == "" {
		env["TERM"] = "xterm-256color"
	}
	for k, v := range extra {
		env[k] = v
	}
	return env
}

// EnvList turns env into the sorted KEY=value list exec takes.
func EnvList(env map[string]string) []string {
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// LookPath resolves cmd on the process's PATH, as a shell would.
func LookPath(cmd string, env map[string]string) (string, error) {
	if strings.Contains(cmd, "/") {
		return cmd, nil
	}
	for _, dir := range strings.Split(env["PATH"], ":") {
		if dir == "" {
			continue
		}
		p := dir + "/" + cmd
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("command %q not found in PATH: %w", cmd, ErrNotFound)
}

func startError(err error) error {
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("%v: %w", err, ErrNotFound)
	}
	if errors.Is(err, os.ErrPermission) || errors.Is(err, unix.EACCES) {
		return fmt.Errorf("%v: %w", err, ErrInvalid)
	}
	if errors.Is(err, unix.EAGAIN) {
		return fmt.Errorf("%v: %s: %w", err, limitAdvice, ErrLimit)
	}
	return err
}
