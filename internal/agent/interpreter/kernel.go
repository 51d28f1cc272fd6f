package interpreter

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/soulbox/soulbox/internal/agent/process"
	"github.com/soulbox/soulbox/internal/agent/reaper"
	"github.com/soulbox/soulbox/internal/agent/users"
	"github.com/soulbox/soulbox/internal/errdefs"
)

// startTimeout bounds how long a driver may take to report ready.
const startTimeout = 60 * time.Second

// markTimeout bounds how long an event waits for the output before it.
const markTimeout = 2 * time.Second

// maxEventLine bounds one event from a driver: a result with a large
// image is a few MiB; anything bigger is refused rather than buffered.
const maxEventLine = 64 << 20

// kernelConfig is what a driver process is started from.
type kernelConfig struct {
	Lang *language
	User users.User
	Cwd  string
	Env  map[string]string
}

// event is one line a driver writes on its event pipe.
type event struct {
	ID   int64
	Mark int64
	Type string
	// Fields are the event's fields but id and mark, as the client gets
	// them: decoded once, a result's images are not copied again.
	Fields map[string]json.RawMessage
	// ExecutionCount is set on "done".
	ExecutionCount int
}

// parseEvent reads one event line.
func parseEvent(line []byte) (event, error) {
	var ev event
	if err := json.Unmarshal(line, &ev.Fields); err != nil {
		return ev, err
	}
	for name, dst := range map[string]any{"id": &ev.ID, "mark": &ev.Mark, "type": &ev.Type, "execution_count": &ev.ExecutionCount} {
		if raw, ok := ev.Fields[name]; ok {
			if err := json.Unmarshal(raw, dst); err != nil {
				return ev, fmt.Errorf("event field %s: %w", name, err)
			}
		}
	}
	delete(ev.Fields, "id")
	delete(ev.Fields, "mark")
	return ev, nil
}

// sink receives what one execution produces.
type sink interface {
	output(stream, text string)
	event(ev event)
}

// kernel is one running driver process: the engine of a context.
type kernel struct {
	pid      int
	lang     *language
	requests *os.File // fd 3 of the driver
	exited   chan struct{}
	status   unix.WaitStatus // valid once exited is closed
	stderr   *tailBuffer     // the last of its stderr, for start failures

	mu   sync.Mutex
	sink sink
	next int64 // the id of the next request
}

// startKernel starts a driver and waits until it is ready.
func startKernel(r *reaper.Reaper, cfg kernelConfig) (*kernel, error) {
	if st, err := os.Stat(cfg.Cwd); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("cwd %q is not a directory: %w", cfg.Cwd, errdefs.ErrInvalidArgument)
	}
	path, err := process.LookPath(cfg.Lang.Cmd[0], cfg.Env)
	if err != nil {
		return nil, err
	}
	var pipes []*os.File
	closeAll := func() {
		for _, f := range pipes {
			_ = f.Close()
		}
	}
	pipe := func() (*os.File, *os.File, error) {
		rd, wr, err := os.Pipe()
		if err == nil {
			pipes = append(pipes, rd, wr)
		}
		return rd, wr, err
	}
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return nil, err
	}
	pipes = append(pipes, devnull)
	outR, outW, err1 := pipe()
	errR, errW, err2 := pipe()
	reqR, reqW, err3 := pipe()
	evR, evW, err4 := pipe()
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		closeAll()
		return nil, fmt.Errorf("driver pipes: %w", err)
	}
	k := &kernel{lang: cfg.Lang, requests: reqW, exited: make(chan struct{}), stderr: &tailBuffer{max: 8 << 10}}
	attr := &syscall.SysProcAttr{
		Credential: &syscall.Credential{Uid: cfg.User.UID, Gid: cfg.User.GID, Groups: cfg.User.Groups},
		// Its own group: an interrupt reaches the cell's children too.
		Setpgid: true,
	}
	pid, exited, err := r.Start(func() (int, error) {
		p, err := os.StartProcess(path, cfg.Lang.argv(), &os.ProcAttr{
			Dir: cfg.Cwd, Env: process.EnvList(cfg.Env), Sys: attr,
			Files: []*os.File{devnull, outW, errW, reqR, evW},
		})
		if err != nil {
			return 0, err
		}
		pid := p.Pid
		_ = p.Release() // the reaper waits for it
		return pid, nil
	})
	for _, f := range []*os.File{devnull, outW, errW, reqR, evW} {
		_ = f.Close()
	}
	if err != nil {
		_ = outR.Close()
		_ = errR.Close()
		_ = reqW.Close()
		_ = evR.Close()
		if errors.Is(err, unix.EACCES) || errors.Is(err, unix.ENOENT) {
			err = fmt.Errorf("%w: %w", err, errdefs.ErrInvalidArgument)
		}
		return nil, fmt.Errorf("start %s driver in %s: %w", cfg.Lang.Name, cfg.Cwd, err)
	}
	k.pid = pid
	_ = os.WriteFile(fmt.Sprintf("/proc/%d/oom_score_adj", pid), []byte("0"), 0)

	delivered := newProgress()
	stdout := newOutputStream(func(text string) { k.output("stdout", text) }, delivered)
	stderr := newOutputStream(func(text string) {
		_, _ = k.stderr.Write([]byte(text))
		k.output("stderr", text)
	}, delivered)
	go stdout.run(outR)
	go stderr.run(errR)
	ready := make(chan struct{})
	go k.readEvents(evR, ready, stdout, stderr, delivered)
	go func() {
		k.status = <-exited
		_ = outR.Close()
		_ = errR.Close()
		_ = evR.Close()
		close(k.exited)
	}()

	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	select {
	case <-ready:
		return k, nil
	case <-k.exited:
		_ = k.requests.Close()
		return nil, fmt.Errorf("%s driver exited before it was ready (%s): %s", cfg.Lang.Name, exitStatus(k.status), bytes.TrimSpace(k.stderr.Bytes()))
	case <-timer.C:
		k.close()
		return nil, fmt.Errorf("%s driver not ready after %s", cfg.Lang.Name, startTimeout)
	}
}

// readEvents passes each event on once the output written before it has
// been passed on.
func (k *kernel) readEvents(f *os.File, ready chan struct{}, stdout, stderr *outputStream, delivered *progress) {
	defer f.Close()
	defer delivered.close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), maxEventLine)
	for sc.Scan() {
		ev, err := parseEvent(sc.Bytes())
		if err != nil {
			continue
		}
		if ev.Type == "ready" {
			close(ready)
			continue
		}
		if ev.Mark > 0 {
			deadline := time.Now().Add(markTimeout)
			stdout.passed.wait(ev.Mark, time.Until(deadline))
			stderr.passed.wait(ev.Mark, time.Until(deadline))
		}
		k.mu.Lock()
		s, current := k.sink, ev.ID == k.next-1
		k.mu.Unlock()
		if s != nil && current {
			s.event(ev)
		}
		delivered.advance(ev.Mark)
	}
	if sc.Err() != nil {
		// An oversized event: the driver is broken beyond repair.
		k.kill()
	}
}

func (k *kernel) output(stream, text string) {
	k.mu.Lock()
	s := k.sink
	k.mu.Unlock()
	if s != nil {
		s.output(stream, text)
	}
}

// request is what a driver is asked to run.
type request struct {
	ID   int64             `json:"id"`
	Code string            `json:"code"`
	Env  map[string]string `json:"env,omitempty"`
	// SetEnv changes the driver's environment for good, before the code
	// runs: how variables set through /init reach a context started
	// before them.
	SetEnv map[string]string `json:"setenv,omitempty"`
}

// run sends req to the driver, with s receiving what it produces until
// detach is called. req.ID is assigned here.
func (k *kernel) run(req request, s sink) (detach func(), err error) {
	k.mu.Lock()
	id := k.next
	k.next++
	k.sink = s
	k.mu.Unlock()
	detach = func() {
		k.mu.Lock()
		if k.sink == s {
			k.sink = nil
		}
		k.mu.Unlock()
	}
	req.ID = id
	line, err := k.lang.encode(req)
	if err != nil {
		detach()
		return nil, err
	}
	if _, err := k.requests.Write(line); err != nil {
		detach()
		return nil, fmt.Errorf("send code to the driver: %w", err)
	}
	return detach, nil
}

// interrupt asks the running cell to stop, as Ctrl-C in a terminal would.
func (k *kernel) interrupt() {
	_ = unix.Kill(-k.pid, unix.SIGINT)
}

// kill ends the driver and everything in its process group.
func (k *kernel) kill() {
	_ = unix.Kill(-k.pid, unix.SIGKILL)
	_ = unix.Kill(k.pid, unix.SIGKILL)
}

// close stops the driver and waits for it.
func (k *kernel) close() {
	_ = k.requests.Close()
	k.kill()
	<-k.exited
}

func (k *kernel) alive() bool {
	select {
	case <-k.exited:
		return false
	default:
		return true
	}
}

func exitStatus(ws unix.WaitStatus) string {
	switch {
	case ws.Exited():
		return fmt.Sprintf("exit status %d", ws.ExitStatus())
	case ws.Signaled():
		return "signal: " + unix.SignalName(ws.Signal())
	default:
		return "stopped"
	}
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if over := len(t.b) - t.max; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) Bytes() []byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]byte(nil), t.b...)
}
