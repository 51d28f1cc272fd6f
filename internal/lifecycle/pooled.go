package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/soulbox/soulbox/internal/catalog"
	"github.com/soulbox/soulbox/internal/logx"
	"github.com/soulbox/soulbox/internal/pool"
	"github.com/soulbox/soulbox/internal/runtime"
	"github.com/soulbox/soulbox/internal/store"
)

// Pool is the warm pool creates are served from when it has a sandbox
// of the template.
type Pool interface {
	Pooled(template string) bool
	Claim(template string) (string, bool)
	Discard(ctx context.Context, template, id string, reason error)
}

// UsePool makes creates claim from p first. Call before serving.
func (m *Manager) UsePool(p Pool) { m.pool = p }

// PoolMaker is what a warm pool makes its sandboxes with: created and
// started with the default limits, agent up with the template's
// environment, user and working directory, the interpreter languages in
// prewarm started ahead (best effort: a template without Python is still
// pooled), and the template's start command running and ready, so a
// claim waits for none of it. As in E2B, where the start command runs
// before the template is snapshotted, it does not see the create's
// environment variables.
func (m *Manager) PoolMaker() pool.Maker {
	return &poolMaker{m: m}
}

type poolMaker struct {
	m *Manager
}

// makeDeadline bounds making one pooled sandbox: a refill never waits on
// a hung runtime for ever.
const makeDeadline = 2 * time.Minute

func (p *poolMaker) Make(ctx context.Context, template string, prewarm []string) (_ string, err error) {
	m := p.m
	ctx, cancel := context.WithTimeout(ctx, makeDeadline)
	defer cancel()
	id := newID()
	limits := runtime.Limits{}.WithDefaults()
	spec := runtime.Spec{ID: id, Template: template, Limits: limits, Network: m.pooledNetwork()}
	if _, ok := m.driver.(runtime.Prioritizer); ok {
		spec.Niceness = poolNiceness
	}
	if _, err := m.driver.Create(ctx, spec); err != nil {
		return "", err
	}
	defer func() {
		if err != nil {
			if derr := m.destroy(ctx, id); derr != nil {
				m.log.Error("destroy failed pooled sandbox", logx.Sandbox(id), logx.Err(derr))
			}
		}
	}()
	if err := m.driver.Start(ctx, id); err != nil {
		return "", err
	}
	if err := m.waitAgent(ctx, id, 15*time.Second); err != nil {
		return "", err
	}
	body := map[string]any{}
	if len(prewarm) > 0 {
		body["soulboxPrewarm"] = prewarm
	}
	ts, hasSettings := m.tmpl.(TemplateSettings)
	var set catalog.Sandbox
	if hasSettings {
		if set, err = ts.SandboxSettings(ctx, template); err != nil {
			return "", err
		}
		if len(set.Env) > 0 {
			body["envVars"] = set.Env
		}
		if set.User != "" {
			body["defaultUser"] = set.User
		}
		if set.Workdir != "" {
			body["defaultWorkdir"] = set.Workdir
		}
	}
	if len(body) > 0 {
		if err := m.postInit(ctx, id, body); err != nil {
			return "", fmt.Errorf("init pooled sandbox (prewarm %v): %w", prewarm, err)
		}
	}
	if hasSettings {
		if err := m.startTemplate(ctx, id, set, set.Env); err != nil {
			return "", err
		}
	}
	return id, nil
}

func (p *poolMaker) Destroy(ctx context.Context, id string) error {
	return p.m.destroy(ctx, id)
}

func (p *poolMaker) MemoryMiB(ctx context.Context, id string) float64 {
	st, err := p.m.driver.Stats(ctx, id)
	if err != nil {
		return 0
	}
	return float64(st.MemoryUsage) / (1 << 20)
}

// createPooled serves a create from the warm pool of the node it was
// placed on: the embedded node's (node "") or a joined node's
// (createPooledOn). handled is false when the pool has no sandbox fit
// for the request, which is then created cold. A pooled sandbox whose
// agent does not take the request's settings is discarded, never
// served. template is the canonical name req.TemplateID resolved to.
func (m *Manager) createPooled(ctx context.Context, req CreateRequest, node, template string, limits runtime.Limits, token string, timeout time.Duration) (sb store.Sandbox, handled bool, err error) {
	if node != "" {
		return m.createPooledOn(ctx, req, node, template, limits, token, timeout)
	}
	if m.pool == nil || req.NoPool || !m.pool.Pooled(template) {
		return sb, false, nil
	}
	_, canUpdate := m.driver.(runtime.Updater)
	_, canPolice := m.driver.(runtime.NetworkPolicer)
	if !fitsPool(req, limits, canUpdate, canPolice || m.isPooledNetwork(req.net.policy)) {
		return sb, false, nil
	}
	defaults := runtime.Limits{}.WithDefaults()
	// A team at its quota must not cost the pool a sandbox, which a claim
	// does: reserve checks again, in the transaction that records it.
	if err := m.checkQuota(ctx, req.Team, limits.CPUCount, limits.MemoryMB); err != nil {
		return sb, true, err
	}
	for {
		id, ok := m.pool.Claim(template)
		if !ok {
			return sb, false, nil
		}
		if err := m.personalise(ctx, id, req, limits, defaults, token); err != nil {
			m.pool.Discard(ctx, template, id, err)
			if ctx.Err() != nil {
				return sb, true, ctx.Err()
			}
			continue
		}
		sb, err := m.adopt(ctx, id, "", req, limits, token, timeout)
		return sb, true, err
	}
}

// fitsPool is whether a pooled sandbox, made with its template's
// default build, the default limits and the pooled network, can be
// fitted to req, on any node: the limits are changed in place only
// where the driver can (canUpdate), never the disk or the pids, and
// another network policy only where it can be applied (canNetwork).
func fitsPool(req CreateRequest, limits runtime.Limits, canUpdate, canNetwork bool) bool {
	if req.NoPool || !canNetwork {
		return false
	}
	// A pool holds sandboxes of its template's default build.
	if _, tag, ok := strings.Cut(req.TemplateID, ":"); ok && tag != store.DefaultTag {
		return false
	}
	defaults := runtime.Limits{}.WithDefaults()
	return limits.DiskMB == defaults.DiskMB && limits.Pids == defaults.Pids && (limits == defaults || canUpdate)
}

// poolNiceness is the CPU niceness pooled sandboxes are made and wait at:
// making them (the runtime, the agent's start, the interpreter's prewarm)
// yields to the sandboxes in use, whose first command would otherwise
// compete with the refill its own claim started.
const poolNiceness = 10

// personalise fits a claimed sandbox to the request: its priority and
// limits, then its agent's environment and access token.
func (m *Manager) personalise(ctx context.Context, id string, req CreateRequest, limits, defaults runtime.Limits, token string) error {
	if p, ok := m.driver.(runtime.Prioritizer); ok {
		if err := p.SetNiceness(ctx, id, 0); err != nil {
			return err
		}
	}
	if limits != defaults {
		if err := m.driver.(runtime.Updater).Update(ctx, id, limits); err != nil {
			return err
		}
	}
	// Pooled sandboxes are made with the open policy and the server's
	// network limits; another policy is applied before the sandbox is
	// anyone's.
	if !m.isPooledNetwork(req.net.policy) {
		if err := m.driver.(runtime.NetworkPolicer).SetNetworkPolicy(ctx, id, req.net.policy); err != nil {
			return err
		}
	}
	// The agent has been up since the pool made the sandbox: no health
	// polling, and a dead one fails here and is discarded.
	initCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return m.postInit(initCtx, id, initBody(req.EnvVars, token, req.net.trafficToken))
}

// adopt records a personalised pooled sandbox as the request's, running
// from the start, in one write under the same quota check as a cold
// create.
func (m *Manager) adopt(ctx context.Context, id, node string, req CreateRequest, limits runtime.Limits, token string, timeout time.Duration) (store.Sandbox, error) {
	now := time.Now().UTC()
	sb := store.Sandbox{
		ID: id, TemplateID: req.TemplateID, ClientID: req.Team, State: store.StateRunning,
		CPUCount: limits.CPUCount, MemoryMB: limits.MemoryMB, DiskMB: limits.DiskMB,
		Metadata: req.Metadata, EnvVars: req.EnvVars, EnvdAccessToken: token, CreatedAt: now, StartedAt: now, EndAt: now.Add(timeout),
		Runtime: m.runtimeName(ctx, node), Network: req.net.cfg, TrafficAccessToken: req.net.trafficToken,
		Lifecycle: req.Lifecycle, Node: node,
	}
	if err := m.reserve(ctx, sb); err != nil {
		if derr := m.destroy(ctx, id); derr != nil {
			m.log.Error("destroy pooled sandbox", logx.Sandbox(id), logx.Err(errors.Join(err, derr)))
		}
		return store.Sandbox{}, err
	}
	m.schedule(id, sb.EndAt)
	if node != "" {
		m.log.Info("sandbox created", logx.Sandbox(id), logx.Template(req.TemplateID), "pooled", true, "node", node)
	} else {
		m.log.Info("sandbox created", logx.Sandbox(id), logx.Template(req.TemplateID), "pooled", true)
	}
	// What was stored, without reading it back: as GetSandbox returns it,
	// no metadata is nil.
	if len(sb.Metadata) == 0 {
		sb.Metadata = nil
	}
	return sb, nil
}
