package interpreter

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/soulbox/soulbox/internal/agent/process"
	"github.com/soulbox/soulbox/internal/agent/reaper"
	"github.com/soulbox/soulbox/internal/agent/state"
	"github.com/soulbox/soulbox/internal/errdefs"
)

// MaxContexts is the most contexts clients may create in one sandbox
// with POST /contexts; the default context of each language comes on top.
// Each is a process holding its state in memory: past the cap, creating
// one is refused (429) until one is removed.
const MaxContexts = 16

// defaultCwd is where contexts start unless told otherwise, as in E2B.
const defaultCwd = "/home/user"

// Info is a context as clients see it.
type Info struct {
	ID       string `json:"id"`
	Language string `json:"language"`
	Cwd      string `json:"cwd"`
}

// Context is one stateful interpreter: variables, imports and working
// directory persist from one execution to the next.
type Context struct {
	Info
	created time.Time
	// lock is held by the execution, restart or removal in progress; a
	// channel so that waiting for it can be given up.
	lock chan struct{}
	// kernel is nil until first needed; written under the manager's mu
	// with lock held.
	kernel  *kernel
	removed bool
	// lost says why the context's state was lost without a client to
	// tell; the next execution reports it. Written with lock held.
	lost string
}

// Manager owns the contexts of a sandbox.
type Manager struct {
	reaper *reaper.Reaper
	state  *state.State
	log    *slog.Logger

	mu       sync.Mutex
	contexts map[string]*Context
	defaults map[string]*Context // by language name
}

// NewManager returns a manager whose drivers r waits for, started with
// the environment and user st holds.
func NewManager(r *reaper.Reaper, st *state.State, log *slog.Logger) *Manager {
	return &Manager{reaper: r, state: st, log: log, contexts: map[string]*Context{}, defaults: map[string]*Context{}}
}

// Create starts a context and returns once its driver is ready.
func (m *Manager) Create(ctx context.Context, lang, cwd string) (Info, error) {
	l, err := lookupLanguage(lang)
	if err != nil {
		return Info{}, err
	}
	if cwd == "" {
		cwd = defaultCwd
	}
	c, err := m.newContext(l, cwd)
	if err != nil {
		return Info{}, err
	}
	if err := m.lock(ctx, c); err != nil {
		m.forget(c)
		return Info{}, err
	}
	defer m.unlock(c)
	if _, err := m.ensureKernel(c); err != nil {
		m.forget(c)
		return Info{}, err
	}
	return c.Info, nil
}

// newContext records a context clients create, within MaxContexts.
func (m *Manager) newContext(l *language, cwd string) (*Context, error) {
	c := &Context{Info: Info{ID: newID(), Language: l.Name, Cwd: cwd}, created: time.Now(), lock: make(chan struct{}, 1)}
	m.mu.Lock()
	defer m.mu.Unlock()
	if n := len(m.contexts) - len(m.defaults); n >= MaxContexts {
		return nil, fmt.Errorf("the sandbox has %d code contexts, the most it may have: remove one (DELETE /contexts/{id}) before creating another: %w",
			n, errdefs.ErrResourceExhausted)
	}
	m.contexts[c.ID] = c
	return c, nil
}

// forget drops a context that never started.
func (m *Manager) forget(c *Context) {
	m.mu.Lock()
	delete(m.contexts, c.ID)
	m.mu.Unlock()
}

// Default returns the default context of a language, making it if needed;
// its driver starts with its first execution.
func (m *Manager) Default(lang string) (*Context, error) {
	l, err := lookupLanguage(lang)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	c, ok := m.defaults[l.Name]
	m.mu.Unlock()
	if ok {
		return c, nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if c, ok := m.defaults[l.Name]; ok {
		return c, nil
	}
	c = &Context{Info: Info{ID: newID(), Language: l.Name, Cwd: defaultCwd}, created: time.Now(), lock: make(chan struct{}, 1)}
	m.contexts[c.ID] = c
	m.defaults[l.Name] = c
	return c, nil
}

// Get finds a context by id.
func (m *Manager) Get(id string) (*Context, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c, ok := m.contexts[id]; ok {
		return c, nil
	}
	return nil, fmt.Errorf("context %q: %w", id, errdefs.ErrNotFound)
}

// List returns the contexts, oldest first.
func (m *Manager) List() []Info {
	m.mu.Lock()
	cs := make([]*Context, 0, len(m.contexts))
	for _, c := range m.contexts {
		cs = append(cs, c)
	}
	m.mu.Unlock()
	sort.Slice(cs, func(i, j int) bool { return cs[i].created.Before(cs[j].created) })
	out := make([]Info, len(cs))
	for i, c := range cs {
		out[i] = c.Info
	}
	return out
}

// Restart replaces a context's driver with a fresh one: its state is gone,
// its id stays. A running execution ends with an error.
func (m *Manager) Restart(ctx context.Context, id string) error {
	c, err := m.Get(id)
	if err != nil {
		return err
	}
	if k := c.currentKernel(m); k != nil {
		// Ends a running execution, so the lock below is not held long.
		k.kill()
	}
	if err := m.lock(ctx, c); err != nil {
		return err
	}
	defer m.unlock(c)
	if c.removed {
		return fmt.Errorf("context %q: %w", id, errdefs.ErrNotFound)
	}
	if c.kernel != nil {
		c.kernel.close()
		c.kernel = nil
	}
	_, err = m.ensureKernel(c)
	return err
}

// Remove stops a context's driver and forgets the context.
func (m *Manager) Remove(ctx context.Context, id string) error {
	c, err := m.Get(id)
	if err != nil {
		return err
	}
	m.mu.Lock()
	delete(m.contexts, id)
	if m.defaults[c.Language] == c {
		delete(m.defaults, c.Language)
	}
	k := c.kernel
	m.mu.Unlock()
	if k != nil {
		k.kill()
	}
	if err := m.lock(context.WithoutCancel(ctx), c); err != nil {
		return err
	}
	defer m.unlock(c)
	c.removed = true
	if c.kernel != nil {
		c.kernel.close()
		c.kernel = nil
	}
	return nil
}

// Close stops every driver.
func (m *Manager) Close() {
	for _, info := range m.List() {
		_ = m.Remove(context.Background(), info.ID)
	}
}

// Prewarm starts the default context of a language ahead of its first
// execution.
func (m *Manager) Prewarm(ctx context.Context, lang string) error {
	c, err := m.Default(lang)
	if err != nil {
		return err
	}
	if err := m.lock(ctx, c); err != nil {
		return err
	}
	defer m.unlock(c)
	if c.kernel != nil && c.kernel.alive() {
		return nil
	}
	_, err = m.startKernel(c, map[string]string{prewarmEnv: "1"})
	return err
}

// prewarmEnv asks a driver to load what its first cells are likely to
// need before it reports ready (for Python: numpy, pandas, matplotlib).
const prewarmEnv = "SOULBOX_INTERPRETER_PREWARM"

func (m *Manager) lock(ctx context.Context, c *Context) error {
	select {
	case c.lock <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (m *Manager) unlock(c *Context) { <-c.lock }

// currentKernel reads c.kernel without the context's lock, for killing.
func (c *Context) currentKernel(m *Manager) *kernel {
	m.mu.Lock()
	defer m.mu.Unlock()
	return c.kernel
}

// ensureKernel starts c's driver unless it is running. Called with c
// locked.
func (m *Manager) ensureKernel(c *Context) (*kernel, error) {
	if c.kernel != nil && c.kernel.alive() {
		return c.kernel, nil
	}
	return m.startKernel(c, nil)
}

// startKernel replaces c's driver with a new one, extra added to its
// environment. Called with c locked.
func (m *Manager) startKernel(c *Context, extra map[string]string) (*kernel, error) {
	if c.kernel != nil {
		c.kernel.close()
	}
	l, err := lookupLanguage(c.Language)
	if err != nil {
		return nil, err
	}
	user, err := m.state.User(m.state.DefaultUserName())
	if err != nil {
		return nil, err
	}
	env := process.Environ(m.state.Envs(), user, false, extra)
	start := time.Now()
	k, err := startKernel(m.reaper, kernelConfig{Lang: l, User: user, Cwd: c.Cwd, Env: env})
	if err != nil {
		return nil, fmt.Errorf("start %s context: %w", c.Language, err)
	}
	m.log.Info("interpreter context started", "context", c.ID, "language", c.Language, "pid", k.pid, "took", time.Since(start).Round(time.Millisecond))
	m.mu.Lock()
	c.kernel = k
	m.mu.Unlock()
	return k, nil
}

// newID makes a context id in the UUID form E2B's contexts have.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
