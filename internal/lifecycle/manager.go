// Package lifecycle runs sandboxes for the control plane: it records every
// state change in the store before it acts or answers, drives the runtime,
// prepares each sandbox's agent, enforces timeouts and quotas, and notices
// sandboxes that die on their own (OOM, crash) and records why.
package lifecycle

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/soulbox/soulbox/internal/runtime"
	"github.com/soulbox/soulbox/internal/store"
)

// Driver is what the manager needs of the runtime: the Driver and the
// ability to reach a sandbox's agent.
type Driver interface {
	runtime.Driver
	runtime.Dialer
}

// Templates resolves a template name or alias to its canonical name.
type Templates interface {
	Resolve(name string) (string, error)
}

// Config configures a Manager.
type Config struct {
	Store     store.Store
	Driver    Driver
	Templates Templates
	Log       *slog.Logger
	// MaxSandboxes is how many sandboxes one team may have running or
	// paused at once; 0 means 100.
	MaxSandboxes int
	// MaxTimeout caps a sandbox's lifetime per create or extension; 0
	// means 24 hours.
	MaxTimeout time.Duration
	// SampleEvery is how often metrics are sampled; 0 means 5 s.
	SampleEvery time.Duration
	// Retention is how long metrics are kept after a sandbox ends; 0
	// means 15 minutes.
	Retention time.Duration
	// PrivateTraffic makes sandbox ports require the traffic access token
	// unless a create asks for public traffic (E2B's default is public).
	PrivateTraffic bool
}

// Manager runs the sandboxes of one server.
type Manager struct {
	store   store.Store
	driver  Driver
	tmpl    Templates
	log     *slog.Logger
	maxSbx  int
	maxTime time.Duration
	every   time.Duration
	keep    time.Duration
	// privateTraffic: see Config.PrivateTraffic.
	privateTraffic bool

	createMu sync.Mutex // serialises the quota check with the record
	pool     Pool       // nil: every create is cold

	mu      sync.Mutex
	timers  map[string]*time.Timer
	metrics map[string]*series
}

// DefaultTimeout is a sandbox's lifetime when the request names none, as
// in E2B.
const DefaultTimeout = 300 * time.Second

// New returns a manager; call Start to schedule the timeouts of the
// sandboxes already live (after reconciliation) and to begin sampling.
func New(cfg Config) *Manager {
	m := &Manager{
		store: cfg.Store, driver: cfg.Driver, tmpl: cfg.Templates, log: cfg.Log,
		maxSbx: cfg.MaxSandboxes, maxTime: cfg.MaxTimeout, every: cfg.SampleEvery, keep: cfg.Retention,
		privateTraffic: cfg.PrivateTraffic,
		timers:         map[string]*time.Timer{}, metrics: map[string]*series{},
	}
	if m.maxSbx == 0 {
		m.maxSbx = 100
	}
	if m.maxTime == 0 {
		m.maxTime = 24 * time.Hour
	}
	if m.every == 0 {
		m.every = 5 * time.Second
	}
	if m.keep == 0 {
		m.keep = 15 * time.Minute
	}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	return m
}

// Start schedules the timeout of every live sandbox and runs the monitor
// until ctx is done.
func (m *Manager) Start(ctx context.Context) error {
	live, err := m.store.ListSandboxes(ctx, store.SandboxFilter{States: []store.SandboxState{store.StateRunning, store.StatePaused}})
	if err != nil {
		return err
	}
	for _, sb := range live {
		m.schedule(sb.ID, sb.EndAt)
	}
	m.restoreNetworks(ctx, live)
	go m.monitor(ctx)
	return nil
}

// Stop cancels every timer (the sandboxes keep running).
func (m *Manager) Stop() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for id, t := range m.timers {
		t.Stop()
		delete(m.timers, id)
	}
}
