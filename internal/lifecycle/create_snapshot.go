package lifecycle

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/logx"
	"github.com/soulbox/soulbox/internal/runtime"
	"github.com/soulbox/soulbox/internal/store"
)

// cloneTokensFile, in a snapshot's clone checkpoint, holds the access
// tokens its agent was given: a sandbox restored from it answers to them.
const cloneTokensFile = "soulbox-tokens.json"

type cloneTokens struct {
	Envd    string `json:"envd,omitempty"`
	Traffic string `json:"traffic,omitempty"`
}

func writeCloneTokens(dir string, sb store.Sandbox) error {
	b, _ := json.Marshal(cloneTokens{Envd: sb.EnvdAccessToken, Traffic: sb.TrafficAccessToken})
	return os.WriteFile(filepath.Join(dir, cloneTokensFile), b, 0o600)
}

// createFromCheckpoint creates a sandbox from a snapshot that keeps
// processes and memory: recorded first as every create, then restored
// from the snapshot's clone checkpoint dir on the layers of template, the
// snapshot's source's. Its agent is the snapshot's, restored with the
// source's access tokens and switched to the new sandbox's own (recorded
// first) before it is running; its environment is the source's: a create
// that asks for envVars is refused.
func (m *Manager) createFromCheckpoint(ctx context.Context, req CreateRequest, dir, template string, limits runtime.Limits, timeout time.Duration) (store.Sandbox, error) {
	cl, ok := m.driver.(runtime.Cloner)
	if !ok {
		return store.Sandbox{}, fmt.Errorf("this server cannot restore snapshots with memory: %w", errdefs.ErrFailedPrecondition)
	}
	if len(req.EnvVars) > 0 {
		return store.Sandbox{}, fmt.Errorf("envVars: a sandbox from snapshot %q has the environment its processes were saved with; create it without envVars: %w", req.TemplateID, errdefs.ErrInvalidArgument)
	}
	var tok cloneTokens
	b, err := os.ReadFile(filepath.Join(dir, cloneTokensFile))
	if err == nil {
		err = json.Unmarshal(b, &tok)
	}
	if err != nil {
		return store.Sandbox{}, fmt.Errorf("snapshot %q: read its tokens: %w", req.TemplateID, err)
	}
	if req.Secure && tok.Envd == "" {
		// Its agent was saved without an access token; handing it out as
		// secure would leave it open to anyone who knows its id.
		return store.Sandbox{}, fmt.Errorf("snapshot %q was taken of a sandbox created without secure: true; create it with secure: false, or snapshot a secure sandbox: %w", req.TemplateID, errdefs.ErrInvalidArgument)
	}
	if req.net.trafficToken != "" && tok.Traffic == "" {
		return store.Sandbox{}, fmt.Errorf("snapshot %q was taken of a sandbox with public traffic; create it with public traffic: %w", req.TemplateID, errdefs.ErrInvalidArgument)
	}
	fresh := freshTokens(tok, false)
	fresh.Traffic = req.net.trafficToken // new, or none for public traffic
	now := time.Now().UTC()
	sb := store.Sandbox{
		ID: newID(), TemplateID: req.TemplateID, ClientID: req.Team, State: store.StateStarting,
		CPUCount: limits.CPUCount, MemoryMB: limits.MemoryMB, DiskMB: limits.DiskMB,
		Metadata: req.Metadata, EnvdAccessToken: fresh.Envd, CreatedAt: now, EndAt: now.Add(timeout),
		Runtime: m.driver.Name(), Network: req.net.cfg, TrafficAccessToken: fresh.Traffic, Lifecycle: req.Lifecycle,
	}
	spec := runtime.Spec{ID: sb.ID, Template: template, Limits: limits, Network: req.net.policy}
	sb, err = m.restoreInto(ctx, sb, func() error { return cl.RestoreClone(ctx, spec, dir) }, tok, fresh, "sandbox "+sb.ID+" from snapshot "+req.TemplateID,
		"restored from snapshot "+req.TemplateID+" with its processes and memory")
	if err == nil {
		m.log.Info("sandbox created", logx.Sandbox(sb.ID), logx.Template(req.TemplateID), "restored", true)
	}
	return sb, err
}

// restoreInto records sb, restores the clone checkpoint in dir into it
// as spec says, gives its agent the fresh tokens in place of old, and
// records it running with started as the event's message. A failure ends
// and destroys it, and is returned prefixed with what.
func (m *Manager) restoreInto(ctx context.Context, sb store.Sandbox, restore func() error, old, fresh cloneTokens, what, started string) (store.Sandbox, error) {
	if err := m.reserve(ctx, sb); err != nil {
		return store.Sandbox{}, err
	}
	fail := func(err error) (store.Sandbox, error) {
		cleanup := context.WithoutCancel(ctx)
		if derr := m.destroy(cleanup, sb.ID); derr != nil && !errdefs.IsNotFound(derr) {
			m.log.Error("destroy after a failed restore", logx.Sandbox(sb.ID), logx.Err(derr))
		}
		if eerr := m.store.EndSandbox(cleanup, sb.ID, store.ReasonError, err.Error(), time.Now()); eerr != nil {
			m.log.Error("record a failed restore", logx.Sandbox(sb.ID), logx.Err(eerr))
		}
		return store.Sandbox{}, err
	}
	if err := restore(); err != nil {
		return fail(fmt.Errorf("%s: %w", what, err))
	}
	if err := m.rekeyClone(ctx, sb.ID, old, fresh); err != nil {
		return fail(fmt.Errorf("%s: %w", what, err))
	}
	if err := m.store.SetState(ctx, sb.ID, []store.SandboxState{store.StateStarting}, store.StateRunning,
		store.Event{Type: store.EventStarted, Message: started}); err != nil {
		return fail(err)
	}
	m.reapplyPolicy(ctx, sb)
	m.schedule(sb.ID, sb.EndAt)
	return m.store.GetSandbox(ctx, sb.ID)
}
