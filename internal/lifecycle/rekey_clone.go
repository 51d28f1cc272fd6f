package lifecycle

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// rekeyClone gives the agent of a sandbox restored from a clone
// checkpoint (a fork, a sandbox from a snapshot with memory) its own
// access tokens: restored with its source's memory, it answers to the
// source's, which would let a token or signed URL of one sandbox work on
// its source and every sibling. The change is an /init authorised with
// the old token, as a boot's is before any token is set. An old token
// that is empty stays empty (the sandbox was not secure); so does a
// traffic token. SOULBOX_SANDBOX_ID, which the agent passes to the
// processes it starts, is set to the sandbox's id.
func (m *Manager) rekeyClone(ctx context.Context, id string, old, fresh cloneTokens) error {
	if err := m.waitAgent(ctx, id, 15*time.Second); err != nil {
		return err
	}
	// The environment processes start with names the sandbox: the
	// restored agent's names the source.
	body := map[string]any{"timestamp": time.Now().UTC(), "envVars": map[string]string{"SOULBOX_SANDBOX_ID": id}}
	if old.Envd != "" {
		body["accessToken"] = fresh.Envd
	}
	if old.Traffic != "" || fresh.Traffic != "" {
		body["soulboxTrafficAccessToken"] = fresh.Traffic
	}
	b, _ := json.Marshal(body)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://agent/init", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if old.Envd != "" {
		req.Header.Set("X-Access-Token", old.Envd)
	}
	resp, err := m.agentClient(id).Do(req)
	if err != nil {
		return fmt.Errorf("give the restored agent its own tokens: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("give the restored agent its own tokens: agent answered %s: %w", resp.Status, errdefs.ErrUnavailable)
	}
	return nil
}

// freshTokens returns new tokens for a clone of a sandbox that had old:
// an access token if it had one, a traffic token if traffic is private.
func freshTokens(old cloneTokens, privateTraffic bool) cloneTokens {
	var t cloneTokens
	if old.Envd != "" {
		t.Envd = newToken()
	}
	if privateTraffic {
		t.Traffic = newToken()
	}
	return t
}
