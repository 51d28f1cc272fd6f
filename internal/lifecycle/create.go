package lifecycle

import (
	"context"
	"fmt"
	"time"

	"github.com/soulbox/soulbox/internal/envd"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/logx"
	"github.com/soulbox/soulbox/internal/runtime"
	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/tenancy"
)

// CreateRequest is what a client asks a sandbox to be.
type CreateRequest struct {
	TemplateID string
	Timeout    time.Duration // 0: DefaultTimeout
	Metadata   map[string]string
	EnvVars    map[string]string
	CPUCount   int // 0: the default
	MemoryMB   int // 0: the default
	// Secure gives the agent an access token (E2B's default).
	Secure bool
	// Team owns the sandbox; quotas count per team.
	Team string
	// NoPool creates the sandbox cold even when the warm pool has one.
	NoPool bool
	// Network is the sandbox's network; nil takes the defaults.
	Network *NetworkRequest
	// Lifecycle is what happens at the timeout (kill or pause) and to
	// traffic while paused.
	Lifecycle store.Lifecycle
	// EmbeddedOnly places the sandbox on the embedded node: a fork, a
	// template that is a snapshot with memory, which only it restores, or
	// a template whose layers only its host has (no object storage). The
	// create sets it for the latter two itself.
	EmbeddedOnly bool
	// EmbeddedOnlyWhy, set by Create with EmbeddedOnly for a template no
	// other node can start, says why, for the refusal when the embedded
	// node cannot take it either.
	EmbeddedOnlyWhy string
	// TemplateLayers are set by Create: the layers of a template other
	// than the base one in the form a joined node resolves (fetching
	// from object storage what it lacks); nil when only the embedded
	// node can start it.
	TemplateLayers []runtime.TemplateLayer
	// MoveFrom, set for the placement of a paused sandbox resumed away
	// from its joined node (moveAway), names that node.
	MoveFrom string

	net resolvedNetwork // Network, resolved by Create
}

// Create records, creates and starts a sandbox and prepares its agent. The
// record is durable before the runtime is touched; a failure at any later
// step ends it with reason error and releases what was made.
func (m *Manager) Create(ctx context.Context, req CreateRequest) (store.Sandbox, error) {
	sb, err := m.create(ctx, req)
	m.countCreate(err)
	return sb, err
}

func (m *Manager) create(ctx context.Context, req CreateRequest) (store.Sandbox, error) {
	if req.TemplateID == "" {
		return store.Sandbox{}, fmt.Errorf("templateID is required: %w", errdefs.ErrInvalidArgument)
	}
	// A delete of the template waits until this create has resolved it
	// and recorded its sandbox, which the delete then sees.
	release := m.holdTemplate(req.TemplateID)
	defer release()
	// An unknown template is the client's mistake: refuse it before
	// anything is recorded.
	template, err := m.tmpl.Resolve(req.TemplateID)
	if err != nil {
		return store.Sandbox{}, err
	}
	if ta, ok := m.tmpl.(TemplateAccess); ok {
		if err := ta.Usable(ctx, req.Team, req.TemplateID); err != nil {
			return store.Sandbox{}, err
		}
	}
	var (
		snapDir, snapFrom string
		snapHas           bool
	)
	if sc, ok := m.tmpl.(Snapshots); ok {
		if snapDir, snapFrom, snapHas, err = sc.SnapshotCheckpoint(ctx, req.TemplateID); err != nil {
			return store.Sandbox{}, err
		}
		req.EmbeddedOnly = req.EmbeddedOnly || snapHas
	}
	// A joined node builds the base template itself; it fetches any
	// other template's layers from object storage, if there is one.
	if err := m.templateLayers(ctx, &req, template); err != nil {
		return store.Sandbox{}, err
	}
	node := "" // the embedded node
	if m.placer != nil {
		if node, err = m.placer(ctx, req); err != nil {
			return store.Sandbox{}, err
		}
	}
	if node != "" && req.EmbeddedOnly {
		return store.Sandbox{}, fmt.Errorf("node %s was chosen for a sandbox only the embedded node can make: %w", node, errdefs.ErrUnavailable)
	}
	timeout := req.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	if timeout < 0 || timeout > m.maxTime {
		return store.Sandbox{}, fmt.Errorf("timeout %v: use 1 s to %v: %w", timeout, m.maxTime, errdefs.ErrInvalidArgument)
	}
	if req.Lifecycle.AutoResume && !req.Lifecycle.AutoPause {
		return store.Sandbox{}, fmt.Errorf("autoResume needs autoPause: a sandbox killed at its timeout cannot be resumed: %w", errdefs.ErrInvalidArgument)
	}
	if req.Lifecycle.AutoResume && req.Lifecycle.AutoPauseFilesystemOnly {
		return store.Sandbox{}, fmt.Errorf("autoResume needs autoPauseMemory: a sandbox paused with its filesystem only is resumed by an explicit connect, not by traffic: %w", errdefs.ErrInvalidArgument)
	}
	if err := envd.CheckEnv(req.EnvVars); err != nil {
		return store.Sandbox{}, fmt.Errorf("envVars: %w", err)
	}
	// Before a pooled sandbox is claimed for it, which the store's refusal
	// would waste.
	if err := store.ValidateMetadata(req.Metadata); err != nil {
		return store.Sandbox{}, err
	}
	limits := runtime.Limits{CPUCount: req.CPUCount, MemoryMB: req.MemoryMB}.WithDefaults()
	if err := limits.Validate(); err != nil {
		return store.Sandbox{}, err
	}
	if req.net, err = m.resolveNetwork(req.Network); err != nil {
		return store.Sandbox{}, err
	}
	token := ""
	if req.Secure {
		token = newToken()
	}
	if snapHas {
		return m.createFromCheckpoint(ctx, req, snapDir, snapFrom, limits, timeout)
	}
	if node == "" { // the warm pool is the embedded node's
		if sb, handled, err := m.createPooled(ctx, req, template, limits, token, timeout); handled {
			return sb, err
		}
	}
	now := time.Now().UTC()
	sb := store.Sandbox{
		ID: newID(), TemplateID: req.TemplateID, ClientID: req.Team, State: store.StateStarting,
		CPUCount: limits.CPUCount, MemoryMB: limits.MemoryMB, DiskMB: limits.DiskMB,
		Metadata: req.Metadata, EnvVars: req.EnvVars, EnvdAccessToken: token, CreatedAt: now, EndAt: now.Add(timeout),
		Runtime: m.runtimeName(ctx, node), Network: req.net.cfg, TrafficAccessToken: req.net.trafficToken,
		Lifecycle: req.Lifecycle, Node: node,
	}
	if err := m.reserve(ctx, sb); err != nil {
		return store.Sandbox{}, err
	}
	release()
	log := m.log.With(logx.Sandbox(sb.ID))
	fail := func(err error) (store.Sandbox, error) {
		cleanup := context.WithoutCancel(ctx)
		if derr := m.destroy(cleanup, sb.ID); derr != nil && !errdefs.IsNotFound(derr) {
			log.ErrorContext(ctx, "destroy after failed create", logx.Err(derr))
		}
		if eerr := m.store.EndSandbox(cleanup, sb.ID, store.ReasonError, err.Error(), time.Now()); eerr != nil {
			log.ErrorContext(ctx, "record failed create", logx.Err(eerr))
		}
		return store.Sandbox{}, err
	}
	spec := runtime.Spec{ID: sb.ID, Template: req.TemplateID, Limits: limits, Network: req.net.policy}
	if node != "" {
		spec.Layers = req.TemplateLayers
	}
	if _, err := m.driver.Create(ctx, spec); err != nil {
		return fail(err)
	}
	if err := m.driver.Start(ctx, sb.ID); err != nil {
		return fail(err)
	}
	if err := m.initSandbox(ctx, sb.ID, req.TemplateID, req.EnvVars, token, req.net.trafficToken); err != nil {
		return fail(fmt.Errorf("sandbox %s: %w: %w", sb.ID, err, errdefs.ErrUnavailable))
	}
	if err := m.store.SetState(ctx, sb.ID, []store.SandboxState{store.StateStarting}, store.StateRunning,
		store.Event{Type: store.EventStarted}); err != nil {
		return fail(err)
	}
	m.schedule(sb.ID, sb.EndAt)
	log.Info("sandbox created", logx.Template(req.TemplateID))
	return m.store.GetSandbox(ctx, sb.ID)
}

// reserve checks the team's quota and records the sandbox, as one step:
// two concurrent creates cannot both take the last place.
func (m *Manager) reserve(ctx context.Context, sb store.Sandbox) error {
	m.createMu.Lock()
	defer m.createMu.Unlock()
	if err := m.checkQuota(ctx, sb.ClientID, sb.CPUCount, sb.MemoryMB); err != nil {
		return err
	}
	return m.store.CreateSandbox(ctx, sb)
}

// checkQuota fails when one more sandbox of cpus and memoryMB would take
// team over the server's --max-sandboxes or the team's own quota, or
// team was deleted.
func (m *Manager) checkQuota(ctx context.Context, team string, cpus, memoryMB int) error {
	if err := m.teamDeleted(team); err != nil {
		return err
	}
	u, err := tenancy.TeamUsage(ctx, m.store, team)
	if err != nil {
		return err
	}
	if u.Sandboxes >= m.maxSbx {
		return fmt.Errorf("your team has %d sandboxes running or paused, the most it may: kill one, or raise the server's --max-sandboxes: %w", u.Sandboxes, errdefs.ErrResourceExhausted)
	}
	q, err := tenancy.TeamQuota(ctx, m.store, team)
	if err != nil {
		return err
	}
	return tenancy.Admit(q, u, cpus, memoryMB)
}
