package lifecycle

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/soulbox/soulbox/internal/agentinit"
)

// agentClient talks to the agent of one sandbox through the driver.
func (m *Manager) agentClient(id string) *http.Client { return agentinit.Client(m.driver, id) }

// initAgent hands the agent the sandbox's environment and tokens (POST
// /init), as E2B's orchestrator does, as soon as it takes connections.
func (m *Manager) initAgent(ctx context.Context, id string, envVars map[string]string, token, traffic string) error {
	b, _ := json.Marshal(initBody(envVars, token, traffic))
	return agentinit.Init(ctx, m.driver, id, b, 15*time.Second)
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
	return agentinit.Wait(ctx, m.driver, id, wait)
}

// probeAgent asks the agent's GET /health once, within ctx.
func (m *Manager) probeAgent(ctx context.Context, id string) error {
	return agentinit.Probe(ctx, m.driver, id)
}

// postInit sends the agent an /init body.
func (m *Manager) postInit(ctx context.Context, id string, body map[string]any) error {
	b, _ := json.Marshal(body)
	return agentinit.Post(ctx, m.driver, id, b)
}
