package lifecycle

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"time"

	"github.com/soulbox/soulbox/internal/catalog"
	"github.com/soulbox/soulbox/internal/logx"
	"github.com/soulbox/soulbox/internal/runtime"
	"github.com/soulbox/soulbox/internal/store"
)

// claimAgainDeadline bounds the claim asked again after a failed one
// (createPooledOn).
const claimAgainDeadline = 10 * time.Second

// NodeClaimer is the optional ability of a driver that routes to nodes
// (noderoute) to claim a sandbox of a joined node's warm pool, fitted to
// the create by the node ("" when it has none ready).
type NodeClaimer interface {
	ClaimOn(ctx context.Context, node string, c runtime.Claim) (string, error)
}

// createPooledOn serves a create placed on joined node from that node's
// warm pool, by the embedded pool's rules (fitsPool; a node's driver
// changes limits and network policies in place). A node pools the base
// template only, the one it builds itself, and fits the sandbox to the
// create in the same call (limits, network policy, the agent's /init),
// so that a warm create on a node costs one round trip more than on the
// embedded node. handled is false when the node had no sandbox ready or
// did not answer: the create is then made cold there.
func (m *Manager) createPooledOn(ctx context.Context, req CreateRequest, node, template string, limits runtime.Limits, token string, timeout time.Duration) (sb store.Sandbox, handled bool, err error) {
	nc, ok := m.driver.(NodeClaimer)
	if !ok || template != catalog.BaseID || !fitsPool(req, limits, true, true) {
		return sb, false, nil
	}
	body, ok, err := m.claimInit(ctx, req, token)
	if err != nil || !ok {
		return sb, err != nil, err
	}
	if err := m.checkQuota(ctx, req.Team, limits.CPUCount, limits.MemoryMB); err != nil {
		return sb, true, err
	}
	c := runtime.Claim{Template: template, Limits: limits, Network: req.net.policy, Init: body, Key: newID()}
	id, err := nc.ClaimOn(ctx, node, c)
	if err != nil && !errors.Is(err, runtime.ErrNotReached) {
		// The node may have served the claim and its answer been lost
		// (a broken connection, a deadline, the caller gone): asked
		// again with its key, it answers the same sandbox, which is
		// then recorded, or destroyed if the caller is gone, rather
		// than left running on the node unrecorded.
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), claimAgainDeadline)
		again, aerr := nc.ClaimOn(actx, node, c)
		cancel()
		if aerr == nil && again != "" && ctx.Err() != nil {
			if derr := m.destroy(ctx, again); derr != nil {
				m.log.Error("destroy a sandbox claimed for a create whose caller left", logx.Sandbox(again), "node", node, logx.Err(derr))
			}
			return sb, true, ctx.Err()
		}
		if aerr == nil {
			id, err = again, nil
		}
	}
	if err != nil {
		if ctx.Err() != nil {
			return sb, true, ctx.Err()
		}
		// A node that cannot claim may still create: the cold path says
		// what is wrong if it cannot either.
		m.log.Warn("claim from a node's warm pool", "node", node, logx.Err(err))
		return sb, false, nil
	}
	if id == "" {
		return sb, false, nil
	}
	sb, err = m.adopt(ctx, id, node, req, limits, token, timeout)
	return sb, true, err
}

// claimInit is the agent's /init body of a create served from a node's
// pool: the template's settings and the create's environment and
// tokens, as initSandbox sends them. ok is false for a template with a
// start command, which a pooled sandbox would have to run before it is
// ready: such creates are made cold.
func (m *Manager) claimInit(ctx context.Context, req CreateRequest, token string) (body []byte, ok bool, err error) {
	env := map[string]string{}
	var set catalog.Sandbox
	if ts, has := m.tmpl.(TemplateSettings); has {
		if set, err = ts.SandboxSettings(ctx, req.TemplateID); err != nil {
			return nil, false, err
		}
		if set.StartCmd != "" {
			return nil, false, nil
		}
		maps.Copy(env, set.Env)
	}
	maps.Copy(env, req.EnvVars)
	b := initBody(env, token, req.net.trafficToken)
	if set.User != "" {
		b["defaultUser"] = set.User
	}
	if set.Workdir != "" {
		b["defaultWorkdir"] = set.Workdir
	}
	body, err = json.Marshal(b)
	return body, err == nil, err
}
