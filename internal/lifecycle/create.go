package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/soulbox/soulbox/internal/catalog"
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
	// Template is set by Create: the canonical name TemplateID resolves
	// to, the one nodes report their warm pools under.
	Template string
	// ExcludeNodes, set by Create when it places a create again, are
	// the joined nodes it must not go to: the one it was sent to and did
	// not reach.
	ExcludeNodes []string
	// MoveFrom, set for the placement of a paused sandbox resumed away
	// from its joined node (moveAway), names that node.
	MoveFrom string
	// FromObjects, set by Create for a snapshot kept in object storage
	// (a joined node's), places the sandbox on a joined node with
	// object storage, which restores it from there.
	FromObjects bool

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
	req.Template = template
	if ta, ok := m.tmpl.(TemplateAccess); ok {
		if err := ta.Usable(ctx, req.Team, req.TemplateID); err != nil {
			return store.Sandbox{}, err
		}
	}
	var (
		snapDir, snapFrom string
		snapHas           bool
		pack              catalog.NodePack
	)
	if ns, ok := m.tmpl.(NodeSnapshots); ok {
		if pack, req.FromObjects, err = ns.SnapshotPack(ctx, req.TemplateID); err != nil {
			return store.Sandbox{}, err
		}
	}
	if sc, ok := m.tmpl.(Snapshots); ok && !req.FromObjects {
		if snapDir, snapFrom, snapHas, err = sc.SnapshotCheckpoint(ctx, req.TemplateID); err != nil {
			return store.Sandbox{}, err
		}
		req.EmbeddedOnly = req.EmbeddedOnly || snapHas
	}
	// A joined node builds the base template itself; it fetches any
	// other template's layers from object storage, if there is one.
	if req.FromObjects {
		// Its blob names its layers: the snapshot's own are not
		// named to nodes.
		req.TemplateLayers = nil
	} else if err := m.templateLayers(ctx, &req, template); err != nil {
		return store.Sandbox{}, err
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
	node, err := m.place(ctx, req)
	if err != nil {
		return store.Sandbox{}, err
	}
	if snapHas {
		return m.createFromCheckpoint(ctx, req, snapDir, snapFrom, limits, timeout)
	}
	if req.FromObjects {
		return m.createFromPack(ctx, req, node, pack, limits, token, timeout)
	}
	if sb, handled, err := m.createPooled(ctx, req, node, template, limits, token, timeout); handled {
		return sb, err
	}
	sb, notReached, err := m.createCold(ctx, req, node, limits, token, timeout, release)
	if !notReached || node == "" || len(req.ExcludeNodes) > 0 {
		return sb, err
	}
	// The node was not reached: it made nothing, and the create goes,
	// once, to another node if the scheduler has one.
	m.log.WarnContext(ctx, "create goes to another node", "node", node, logx.Err(err))
	req.ExcludeNodes = []string{node}
	// The failed record, ended, no longer holds the template: hold it
	// again, and see that it was not deleted meanwhile.
	release = m.holdTemplate(req.TemplateID)
	defer release()
	if _, rerr := m.tmpl.Resolve(req.TemplateID); rerr != nil {
		return store.Sandbox{}, rerr
	}
	again, perr := m.place(ctx, req)
	if perr != nil {
		return store.Sandbox{}, fmt.Errorf("%w; and no other node can take it: %w", err, perr)
	}
	sb, _, err = m.createCold(ctx, req, again, limits, token, timeout, release)
	return sb, err
}

// place asks the placer where req goes: a joined node's name, or "" for
// the embedded node.
func (m *Manager) place(ctx context.Context, req CreateRequest) (string, error) {
	if m.placer == nil {
		return "", nil
	}
	node, err := m.placer(ctx, req)
	if err != nil {
		return "", err
	}
	if node != "" && req.EmbeddedOnly {
		return "", fmt.Errorf("node %s was chosen for a sandbox only the embedded node can make: %w", node, errdefs.ErrUnavailable)
	}
	return node, nil
}

// createCold records a new sandbox of req on node and makes it there.
// release lets deletes of the template go once the record exists. A
// failure after the record ends it with reason error; notReached says
// the failure was the runtime's Create not reaching the node, which
// then made nothing.
func (m *Manager) createCold(ctx context.Context, req CreateRequest, node string, limits runtime.Limits, token string, timeout time.Duration, release func()) (_ store.Sandbox, notReached bool, _ error) {
	now := time.Now().UTC()
	sb := store.Sandbox{
		ID: newID(), TemplateID: req.TemplateID, ClientID: req.Team, State: store.StateStarting,
		CPUCount: limits.CPUCount, MemoryMB: limits.MemoryMB, DiskMB: limits.DiskMB,
		Metadata: req.Metadata, EnvVars: req.EnvVars, EnvdAccessToken: token, CreatedAt: now, EndAt: now.Add(timeout),
		Runtime: m.runtimeName(ctx, node), Network: req.net.cfg, TrafficAccessToken: req.net.trafficToken,
		Lifecycle: req.Lifecycle, Node: node,
	}
	if err := m.reserve(ctx, sb); err != nil {
		return store.Sandbox{}, false, err
	}
	release()
	log := m.log.With(logx.Sandbox(sb.ID))
	fail := func(err error) (store.Sandbox, bool, error) {
		cleanup := context.WithoutCancel(ctx)
		if derr := m.destroy(cleanup, sb.ID); derr != nil && !errdefs.IsNotFound(derr) && !errors.Is(derr, runtime.ErrNotReached) {
			log.ErrorContext(ctx, "destroy after failed create", logx.Err(derr))
		}
		if eerr := m.store.EndSandbox(cleanup, sb.ID, store.ReasonError, err.Error(), time.Now()); eerr != nil {
			log.ErrorContext(ctx, "record failed create", logx.Err(eerr))
		}
		return store.Sandbox{}, false, err
	}
	spec := runtime.Spec{ID: sb.ID, Template: req.TemplateID, Limits: limits, Network: req.net.policy}
	if node != "" {
		spec.Layers = req.TemplateLayers
	}
	if _, err := m.driver.Create(ctx, spec); err != nil {
		if node != "" && errors.Is(err, runtime.ErrNotReached) {
			sb, _, err := fail(fmt.Errorf("node %s was not reached, nothing was made there: %w", node, err))
			return sb, true, err
		}
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
	got, err := m.store.GetSandbox(ctx, sb.ID)
	return got, false, err
}

// reserve checks the team's quota and records the sandbox, as one step
// of the store's (CreateSandboxIf): of creates racing for a team's last
// place, through this process or another on the same database, one
// wins.
func (m *Manager) reserve(ctx context.Context, sb store.Sandbox) error {
	if err := m.teamDeleted(sb.ClientID); err != nil {
		return err
	}
	return m.store.CreateSandboxIf(ctx, sb, func(l store.TeamLoad) error {
		return m.admit(sb.ClientID, l, sb.CPUCount, sb.MemoryMB)
	})
}

// checkQuota fails when one more sandbox of cpus and memoryMB would take
// team over the server's --max-sandboxes or the team's own quota, or
// team was deleted. It reads outside any transaction: a check before
// work that reserve would waste, which reserve repeats.
func (m *Manager) checkQuota(ctx context.Context, team string, cpus, memoryMB int) error {
	if err := m.teamDeleted(team); err != nil {
		return err
	}
	u, err := tenancy.TeamUsage(ctx, m.store, team)
	if err != nil {
		return err
	}
	q, err := tenancy.TeamQuota(ctx, m.store, team)
	if err != nil {
		return err
	}
	return m.admit(team, store.TeamLoad{Sandboxes: u.Sandboxes, CPUs: u.CPUs, MemoryMB: u.MemoryMB, Quota: q}, cpus, memoryMB)
}

// admit fails when one more sandbox of cpus and memoryMB would take a
// team holding l over the server's --max-sandboxes or the team's own
// quota, or the team was deleted.
func (m *Manager) admit(team string, l store.TeamLoad, cpus, memoryMB int) error {
	if l.Deleted {
		return fmt.Errorf("team %q was deleted: %w", team, errdefs.ErrNotFound)
	}
	if l.Sandboxes >= m.maxSbx {
		return fmt.Errorf("your team has %d sandboxes running or paused, the most it may: kill one, or raise the server's --max-sandboxes: %w", l.Sandboxes, errdefs.ErrResourceExhausted)
	}
	return tenancy.Admit(l.Quota, tenancy.Usage{Sandboxes: l.Sandboxes, CPUs: l.CPUs, MemoryMB: l.MemoryMB}, cpus, memoryMB)
}
