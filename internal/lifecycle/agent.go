package lifecycle

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/soulbox/soulbox/internal/envd"
)

// agentClient talks to the agent of one sandbox through the driver.
func (m *Manager) agentClient(id string) *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				return m.driver.DialContext(ctx, id, envd.Port)
			},
			DisableKeepAlives: true,
		},
		Timeout: 10 * time.Second,
	}
}

// initAgent waits for the agent to answer, then hands it the sandbox's
// environment and tokens (POST /init), as E2B's orchestrator does.
func (m *Manager) initAgent(ctx context.Context, id string, envVars map[string]string, token, traffic string) error {
	if err := m.waitAgent(ctx, id, 15*time.Second); err != nil {
		return err
	}
	return m.postInit(ctx, id, initBody(envVars, token, traffic))
}

// initBody is the /init body giving a sandbox's agent its environment,
// its access token and, when its traffic is private, its traffic access
// token, without which the interpreter's context routes would not know
// the traffic is private.
func initBody(envVars map[string]string, token, traffic string) map[string]any {
	body := map[string]any{"envVars": envVars, "accessToken": token, "timestamp": time.Now().UTC()}
	if traffic != "" {
		body["soulboxTrafficAccessToken"] = traffic
	}
	return body
}

// waitAgent polls the agent's health until it answers or wait passes.
func (m *Manager) waitAgent(ctx context.Context, id string, wait time.Duration) error {
	c := m.agentClient(id)
	deadline := time.Now().Add(wait)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://agent/health", nil)
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusNoContent {
				return nil
			}
			err = fmt.Errorf("health answered %s", resp.Status)
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("agent did not come up: %w", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// probeAgent asks the agent's GET /health once, within ctx.
func (m *Manager) probeAgent(ctx context.Context, id string) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://agent/health", nil)
	resp, err := m.agentClient(id).Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("health answered %s", resp.Status)
	}
	return nil
}

// postInit sends the agent an /init body.
func (m *Manager) postInit(ctx context.Context, id string, body map[string]any) error {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://agent/init", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	resp, err := m.agentClient(id).Do(req)
	if err != nil {
		return fmt.Errorf("init agent: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("init agent: %s", resp.Status)
	}
	return nil
}
