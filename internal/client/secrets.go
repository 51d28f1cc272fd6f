package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Secret is a team secret's metadata, as E2B's /secrets shows it: never
// its value.
type Secret struct {
	ID          string    `json:"id"`
	Label       string    `json:"label"`
	Description string    `json:"description"`
	Allowlist   []string  `json:"allowlist"`
	CreatedAt   time.Time `json:"createdAt"`
	UpdatedAt   time.Time `json:"updatedAt"`
}

// SecretChange is what UpdateSecret changes; nil fields stay as they are.
type SecretChange struct {
	Label       *string   `json:"label,omitempty"`
	Description *string   `json:"description,omitempty"`
	Value       *string   `json:"value,omitempty"`
	Allowlist   *[]string `json:"allowlist,omitempty"`
}

// Secrets lists the team's secrets (GET /secrets).
func (c *Client) Secrets(ctx context.Context) ([]Secret, error) {
	var out []Secret
	return out, c.secretsCall(ctx, http.MethodGet, "", nil, http.StatusOK, &out)
}

// CreateSecret stores a new secret (POST /secrets); value is sent once
// and never comes back.
func (c *Client) CreateSecret(ctx context.Context, label, value, description string, allowlist []string) (Secret, error) {
	var out Secret
	body := map[string]any{"label": label, "value": value, "description": description, "allowlist": allowlist}
	return out, c.secretsCall(ctx, http.MethodPost, "", body, http.StatusCreated, &out)
}

// UpdateSecret changes a secret (PATCH /secrets/{id}).
func (c *Client) UpdateSecret(ctx context.Context, id string, ch SecretChange) (Secret, error) {
	var out Secret
	return out, c.secretsCall(ctx, http.MethodPatch, id, ch, http.StatusOK, &out)
}

// DeleteSecret deletes a secret (DELETE /secrets/{id}).
func (c *Client) DeleteSecret(ctx context.Context, id string) error {
	return c.secretsCall(ctx, http.MethodDelete, id, nil, http.StatusNoContent, nil)
}

// secretsCall sends a request to /secrets[/id] and decodes the answer
// into out, or returns the server's message.
func (c *Client) secretsCall(ctx context.Context, method, id string, body any, want int, out any) error {
	path := strings.TrimRight(c.BaseURL, "/") + "/secrets"
	if id != "" {
		path += "/" + url.PathEscape(id)
	}
	var r *bytes.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		r = bytes.NewReader(b)
	} else {
		r = bytes.NewReader(nil)
	}
	req, err := http.NewRequestWithContext(ctx, method, path, r)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-API-Key", c.APIKey)
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		var e struct {
			Message string `json:"message"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&e)
		return fmt.Errorf("%s /secrets: %d: %s", method, resp.StatusCode, e.Message)
	}
	if out == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}
