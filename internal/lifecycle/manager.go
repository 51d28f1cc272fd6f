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

	"github.com/soulbox/soulbox/internal/objstore"
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
	// Retention is how long the metric history (store.MetricHistory) is
	// kept; 0 means 24 hours.
	Retention time.Duration
	// DownsampleAfter is the age past which raw samples are merged into
	// buckets of DownsampleBucket; 0 means 1 hour and 1 minute.
	DownsampleAfter  time.Duration
	DownsampleBucket time.Duration
	// TidyEvery is how often the history is downsampled and pruned; 0
	// means every minute.
	TidyEvery time.Duration
	// ProbeTimeout is how long the monitor waits for a running sandbox's
	// agent to answer GET /health; 0 means 2 s.
	ProbeTimeout time.Duration
	// ProbeFailures is how many health checks in a row a running
	// sandbox's agent must fail, over at least UnresponsiveAfter, before
	// the sandbox is ended with reason error; 0 means 3.
	ProbeFailures int
	// UnresponsiveAfter is how long a running sandbox's agent must go
	// without answering before the sandbox is ended; 0 means 2 minutes. A
	// sandbox whose CPUs are saturated, or a busy host, answers late, and
	// ending it loses its files: the first failure only records an
	// "unresponsive" event.
	UnresponsiveAfter time.Duration
	// PrivateTraffic makes sandbox ports require the traffic access token
	// unless a create asks for public traffic (E2B's default is public).
	PrivateTraffic bool
	// NetworkLimits are every sandbox's network limits unless a create
	// asks for less; a non-zero one is also the most a create may ask.
	NetworkLimits runtime.NetworkLimits
	// CheckpointDir is where sandboxes paused with their memory keep
	// their checkpoints; empty: pausing with memory is refused.
	CheckpointDir string
	// PausedDiskMB is the most disk, in MiB, the checkpoints of sandboxes
	// paused with their memory may take together; a pause that would
	// pass it is refused (the sandbox runs on). 0 is unlimited.
	PausedDiskMB int
	// SnapshotDiskMB is the most disk, in MiB, the layers of all
	// snapshots may take together; a snapshot (or a fork with files only)
	// that would pass it is refused. 0 is unlimited.
	SnapshotDiskMB int
	// Objects, when set, is the object storage the checkpoints of
	// sandboxes paused with their memory are also kept in, so that a
	// resume finds them when this disk lacks them.
	Objects *objstore.Store
	// SandboxStateDiskMB is the most disk, in MiB, one sandbox's paused
	// state (its checkpoint and writable layer) and snapshots may take
	// together; a pause or snapshot that would pass it is refused (the
	// sandbox runs on). 0 is unlimited.
	SandboxStateDiskMB int
	// Replica makes the manager one of several control-plane replicas on
	// one shared store: its timeouts and monitor run only while it leads
	// (between Lead and Unlead), and re-read the timeouts from the store
	// every RearmEvery, as other replicas set them. Off, they run from
	// Start to Stop.
	Replica bool
	// Steps, set for a replica on a shared store, is the store's
	// leaderships: each pause or resume of a joined node's sandbox holds
	// one named after the sandbox for its length, so that another
	// replica neither starts one nor settles it meanwhile, and the
	// leading replica settles one whose holder died (holdStep). A store
	// that can (store.StepLeader) holds them all on one session.
	Steps store.TryLeader
	// RearmEvery is how often a leading replica re-reads the live
	// sandboxes' timeouts; 0 means 1 s. A timeout set through another
	// replica fires at most this late.
	RearmEvery time.Duration
}

// The deadlines of background work: no timer or monitor pass waits on
// the runtime or the store for ever.
const (
	// destroyDeadline bounds a destroy after the end is recorded.
	destroyDeadline = time.Minute
	// sampleDeadline bounds one sandbox's checks in a monitor pass.
	sampleDeadline = 10 * time.Second
)

// Manager runs the sandboxes of one server.
type Manager struct {
	// began is when this manager was made: a pause or resume of a
	// joined node's sandbox recorded before it was begun by an earlier
	// process (see settleOnNode).
	began time.Time
	// placer, if set, decides where a create goes (see UsePlacer).
	placer Placer
	// nodeCheck, if set, says whether a paused sandbox's joined node
	// can take it back (see UseNodeCheck).
	nodeCheck NodeCheck
	store     store.Store
	driver    Driver
	tmpl      Templates
	log       *slog.Logger
	maxSbx    int
	maxTime   time.Duration
	every     time.Duration
	keep      time.Duration // see Config.Retention
	history   historyConfig
	probeTO   time.Duration
	probeN    int
	// privateTraffic: see Config.PrivateTraffic.
	privateTraffic bool
	netLimits      runtime.NetworkLimits
	checkpoints    string     // see Config.CheckpointDir
	pausedBudget   int64      // bytes; see Config.PausedDiskMB
	reserved       int64      // bytes of checkpoints under way; guarded by mu
	snapshotBudget int64      // bytes; see Config.SnapshotDiskMB
	snapshotMu     sync.Mutex // one snapshot at a time under a budget
	sandboxBudget  int64      // bytes; see Config.SandboxStateDiskMB

	objects *objstore.Store // see Config.Objects; nil: none
	objWork objectWork      // object storage work under way in the background

	deletedTeams sync.Map   // team -> struct{}: deleted (DeleteTeam), refused by checkQuota
	autoResumeMu sync.Mutex // one auto-resume at a time: requests that arrive together resume once
	pool         Pool       // nil: every create is cold
	creates      createCounts

	mu         sync.Mutex
	timers     map[string]armed
	metrics    map[string]*series
	current    map[string]currentRead // sandbox -> its usage as last read for a request (currentStats)
	pending    []store.MetricSample   // samples of this monitor pass, written at its end
	lastTidy   time.Time
	probeFails map[string]probeFailure // running sandbox -> its current run of failed health checks
	unresp     time.Duration
	netLocks   map[string]*netLock // sandbox -> its network update lock, while one waits or runs
	inTransit  map[string]int      // sandbox -> pauses and resumes under way
	unclear    map[string]bool     // joined node sandbox -> its step left unclear by this process (settleUnclear)
	steps      store.TryLeader     // see Config.Steps
	stepsHeld  map[string]int      // joined node sandbox -> this process's holds of its step lease (holdStep)
	opLocks    map[string]*opLock  // sandbox -> its pause/resume/kill lock, while held or awaited
	stopped    bool                // Stop was called: no more background work starts
	replica    bool                // see Config.Replica
	leading    bool                // a replica's Lead was called, not yet Unlead
	rearmEvery time.Duration       // see Config.RearmEvery
	stopLead   context.CancelFunc  // ends the leading replica's monitor and re-arming
	stopMon    context.CancelFunc
	bg         sync.WaitGroup // the monitor and timers that fired
}

// DefaultTimeout is a sandbox's lifetime when the request names none, as
// in E2B.
const DefaultTimeout = 300 * time.Second

// New returns a manager; call Start to schedule the timeouts of the
// sandboxes already live (after reconciliation) and to begin sampling.
func New(cfg Config) *Manager {
	m := &Manager{
		began: time.Now(),
		store: cfg.Store, driver: cfg.Driver, tmpl: cfg.Templates, log: cfg.Log,
		maxSbx: cfg.MaxSandboxes, maxTime: cfg.MaxTimeout, every: cfg.SampleEvery, keep: cfg.Retention,
		probeTO: cfg.ProbeTimeout, probeN: cfg.ProbeFailures, privateTraffic: cfg.PrivateTraffic,
		netLimits: cfg.NetworkLimits,
		timers:    map[string]armed{}, metrics: map[string]*series{}, current: map[string]currentRead{}, probeFails: map[string]probeFailure{}, unresp: cfg.UnresponsiveAfter,
		netLocks:  map[string]*netLock{},
		inTransit: map[string]int{}, unclear: map[string]bool{}, steps: cfg.Steps, stepsHeld: map[string]int{}, opLocks: map[string]*opLock{}, checkpoints: cfg.CheckpointDir,
		pausedBudget:   int64(cfg.PausedDiskMB) << 20,
		snapshotBudget: int64(cfg.SnapshotDiskMB) << 20,
		objects:        cfg.Objects,
		sandboxBudget:  int64(cfg.SandboxStateDiskMB) << 20,
		replica:        cfg.Replica,
		rearmEvery:     cfg.RearmEvery,
	}
	if m.rearmEvery <= 0 {
		m.rearmEvery = time.Second
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
		m.keep = 24 * time.Hour
	}
	m.history = newHistoryConfig(cfg)
	if m.probeTO == 0 {
		m.probeTO = 2 * time.Second
	}
	if m.probeN == 0 {
		m.probeN = 3
	}
	if m.unresp == 0 {
		m.unresp = 2 * time.Minute
	}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	return m
}

// Start schedules the timeout of every live sandbox and runs the monitor
// until ctx is done or Stop is called.
func (m *Manager) Start(ctx context.Context) error {
	live, err := m.store.ListSandboxes(ctx, store.SandboxFilter{States: []store.SandboxState{
		store.StateRunning, store.StatePausing, store.StatePaused, store.StateResuming}})
	if err != nil {
		return err
	}
	for _, sb := range live {
		if sb.State == store.StateRunning { // a paused sandbox does not time out
			m.schedule(sb.ID, sb.EndAt)
		}
	}
	m.restoreNetworks(ctx, live)
	m.sweepCheckpoints(live)
	m.uploadAgain(ctx, live)
	monCtx, cancel := context.WithCancel(ctx)
	m.mu.Lock()
	m.stopMon = cancel
	m.bg.Add(1)
	m.mu.Unlock()
	go func() {
		defer m.bg.Done()
		m.monitor(monCtx)
	}()
	return nil
}

// Stop cancels every timer and the monitor and waits for the background
// work under way (a timed-out sandbox being ended, a monitor pass) to
// finish; each has a deadline. The sandboxes keep running.
func (m *Manager) Stop() {
	m.mu.Lock()
	m.stopped = true
	for id, a := range m.timers {
		a.t.Stop()
		delete(m.timers, id)
	}
	if m.stopMon != nil {
		m.stopMon()
	}
	if m.stopLead != nil {
		m.stopLead()
	}
	m.mu.Unlock()
	m.bg.Wait()
	m.objWork.stop(objectShutdownGrace)
}

// background runs fn as background work Stop waits for, unless Stop was
// called.
func (m *Manager) background(fn func()) {
	m.mu.Lock()
	if m.stopped || (m.replica && !m.leading) {
		m.mu.Unlock()
		return
	}
	m.bg.Add(1)
	m.mu.Unlock()
	defer m.bg.Done()
	fn()
}
