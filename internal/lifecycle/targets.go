package lifecycle

import (
	"context"
	"fmt"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/logx"
	"github.com/soulbox/soulbox/internal/proxy"
	"github.com/soulbox/soulbox/internal/runtime"
	"github.com/soulbox/soulbox/internal/store"
)

var _ proxy.Sandboxes = (*Manager)(nil)

// Lookup finds a live sandbox for the traffic proxy. It never resumes
// one: a paused sandbox with auto-resume is marked so, and the proxy
// calls AutoResume once the request may reach it.
func (m *Manager) Lookup(ctx context.Context, id string) (proxy.Target, error) {
	sb, t, err := m.target(ctx, id)
	if err != nil {
		return t, err
	}
	if sb.State != store.StateRunning { // paused, or on its way to or from it
		t.Paused, t.AutoResume = true, sb.Lifecycle.AutoResume
	}
	return t, nil
}

var _ proxy.AutoResumer = (*Manager)(nil)

// AutoResume resumes a paused sandbox that asked for it (E2B's
// autoResume) for a request through the proxy, and returns it running.
func (m *Manager) AutoResume(ctx context.Context, id string) (proxy.Target, error) {
	sb, t, err := m.target(ctx, id)
	if err != nil {
		return t, err
	}
	if sb.State != store.StateRunning { // paused, or on its way to or from it
		if !sb.Lifecycle.AutoResume {
			t.Paused = true
			return t, nil
		}
		return m.autoResume(ctx, sb, t)
	}
	return t, nil
}

// target is the proxy's view of a live sandbox.
func (m *Manager) target(ctx context.Context, id string) (store.Sandbox, proxy.Target, error) {
	sb, err := m.store.GetSandbox(ctx, id)
	if err != nil {
		return sb, proxy.Target{}, err
	}
	t := proxy.Target{ID: sb.ID, EnvdAccessToken: sb.EnvdAccessToken}
	if sb.Network != nil {
		if !sb.Network.AllowPublicTraffic {
			t.TrafficAccessToken = sb.TrafficAccessToken
		}
		t.MaskRequestHost = sb.Network.MaskRequestHost
	}
	switch sb.State {
	case store.StateRunning, store.StatePaused, store.StatePausing, store.StateResuming:
		return sb, t, nil
	default:
		return sb, proxy.Target{}, fmt.Errorf("sandbox %q is %s: %w", id, sb.State, errdefs.ErrNotFound)
	}
}

// Secured lists the running sandboxes with an access token, for routing
// signed links.
func (m *Manager) Secured(ctx context.Context) ([]proxy.Target, error) {
	live, err := m.store.ListSandboxes(ctx, store.SandboxFilter{States: []store.SandboxState{store.StateRunning}})
	if err != nil {
		return nil, err
	}
	var out []proxy.Target
	for _, sb := range live {
		if sb.EnvdAccessToken != "" {
			out = append(out, proxy.Target{ID: sb.ID, EnvdAccessToken: sb.EnvdAccessToken})
		}
	}
	return out, nil
}

// autoResumeWait bounds how long a request through the proxy waits for
// its paused sandbox to resume.
const autoResumeWait = 30 * time.Second

// autoResume resumes a paused sandbox that asked for it (E2B's
// autoResume) for a request through the proxy, which waits for it. Only
// a pause with memory is resumed so; one with the filesystem only would
// lose its processes to a stray request, and answers as paused, as E2B
// documents. Requests that arrive together resume it once.
func (m *Manager) autoResume(ctx context.Context, sb store.Sandbox, t proxy.Target) (proxy.Target, error) {
	ctx, cancel := context.WithTimeout(ctx, autoResumeWait)
	defer cancel()
	// A pause under way is recorded before its checkpoint completes: let
	// it finish first.
	for m.isInTransit(sb.ID) {
		select {
		case <-ctx.Done():
			t.Paused = true // still pausing
			return t, nil
		case <-time.After(20 * time.Millisecond):
		}
	}
	// Where the pause or resume under way left it.
	now, err := m.store.GetSandbox(ctx, sb.ID)
	if err == nil && now.State == store.StateRunning {
		return t, nil
	}
	if err != nil || now.State != store.StatePaused || !m.pausedWithMemory(ctx, now) {
		t.Paused = true
		return t, nil
	}
	m.autoResumeMu.Lock()
	defer m.autoResumeMu.Unlock()
	if _, _, err := m.Connect(ctx, sb.ID, DefaultTimeout); err != nil {
		// Still paused (or ended since): answered as such, not as the
		// server's fault.
		m.log.Warn("auto-resume failed", logx.Sandbox(sb.ID), logx.Err(err))
		t.Paused = true
		return t, nil
	}
	m.log.Info("auto-resumed for a request", logx.Sandbox(sb.ID))
	return t, nil
}

// pausedWithMemory reports whether paused sandbox sb keeps its
// processes: a complete checkpoint, on this disk or recorded in object
// storage (the resume fetches it), or kept by its joined node, or, for
// a joined node's sandbox paused with its memory, its paused state
// recorded in object storage (its node may be gone: the resume moves
// it), or frozen in the runtime.
func (m *Manager) pausedWithMemory(ctx context.Context, sb store.Sandbox) bool {
	id := sb.ID
	if m.hasCheckpoint(ctx, sb) {
		return true
	}
	if m.objects != nil && ((m.checkpoints != "" && sb.Node == "") || (sb.Node != "" && m.pauseAskedMemory(ctx, id))) {
		if _, err := m.store.CheckpointObject(ctx, id); err == nil {
			return true
		}
	}
	info, err := m.driver.Info(ctx, id)
	return err == nil && info.Status == runtime.StatusPaused
}

// pauseAskedMemory reports whether sandbox id's last pause was asked
// with its memory (its pausing event says how).
func (m *Manager) pauseAskedMemory(ctx context.Context, id string) bool {
	evs, err := m.store.ListEvents(ctx, id)
	if err != nil {
		return false
	}
	for i := len(evs) - 1; i >= 0; i-- {
		if evs[i].Type == store.EventPausing {
			return evs[i].Message == pausedMemory
		}
	}
	return false
}
