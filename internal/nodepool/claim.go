package nodepool

import (
	"context"
	"time"

	"github.com/soulbox/soulbox/internal/agentinit"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/runtime"
)

// Claim implements runtime.Claimer: it takes a ready sandbox of
// c.Template and fits it to the create, as the embedded node's pool
// does (lifecycle's personalise): its CPU priority back to normal, the
// create's limits and network policy, then its agent's /init. A sandbox
// that does not take them is destroyed, never handed out, and the next
// is tried. The control plane has checked that the create fits a pooled
// sandbox; the node still refuses (no id) what it cannot fit: other
// disk or pids limits than the defaults it made them with.
//
// A claim with the key of one served within ClaimGrace answers that
// one's sandbox again, fitted already.
func (p *Pool) Claim(ctx context.Context, c runtime.Claim) (string, error) {
	if id, ok := p.ClaimedBy(c.Key); ok {
		return id, nil
	}
	defaults := runtime.Limits{}.WithDefaults()
	limits := c.Limits.WithDefaults()
	if !p.p.Pooled(c.Template) || limits.DiskMB != defaults.DiskMB || limits.Pids != defaults.Pids {
		return "", nil
	}
	for {
		id, ok := p.p.Claim(c.Template)
		if !ok {
			return "", nil
		}
		if err := p.fit(ctx, id, c, limits, defaults); err != nil {
			p.p.Discard(ctx, c.Template, id, err)
			if ctx.Err() != nil {
				return "", ctx.Err()
			}
			if errdefs.IsInvalidArgument(err) {
				// The claim's fault, not the sandbox's: the next would
				// fail the same way.
				return "", err
			}
			continue
		}
		p.handOut(id, c.Key)
		return id, nil
	}
}

func (p *Pool) fit(ctx context.Context, id string, c runtime.Claim, limits, defaults runtime.Limits) error {
	if err := p.d.SetNiceness(ctx, id, 0); err != nil {
		return err
	}
	if limits != defaults {
		if err := p.d.Update(ctx, id, limits); err != nil {
			return err
		}
	}
	// Pooled sandboxes have the open network without limits.
	if n := c.Network; len(n.AllowOut) > 0 || len(n.DenyOut) > 0 || len(n.AllowDomains) > 0 || n.Limits != (runtime.NetworkLimits{}) {
		if err := p.d.SetNetworkPolicy(ctx, id, n); err != nil {
			return err
		}
	}
	// The agent has been up since the pool made the sandbox: no health
	// polling, and a dead one fails here and is discarded.
	initCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return agentinit.Post(initCtx, p.d, id, c.Init)
}
