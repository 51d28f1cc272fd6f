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

// AccessToken exchanges the client's API key for a short-lived access
// token (POST /access-tokens) that stands for the key for ttl.
func (c *Client) AccessToken(ctx context.Context, name string, ttl time.Duration) (string, time.Time, error) {
	body, _ := json.Marshal(map[string]any{"name": name, "ttlSeconds": int64(ttl / time.Second)})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(c.BaseURL, "/")+"/access-tokens", bytes.NewReader(body))
	if err != nil {
		return "", time.Time{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-API-Key", c.APIKey)
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", time.Time{}, err
	}
	defer resp.Body.Close()
	var out struct {
		Token     string    `json:"token"`
		ExpiresAt time.Time `json:"expiresAt"`
		Message   string    `json:"message"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return "", time.Time{}, fmt.Errorf("access token: %d %s", resp.StatusCode, resp.Status)
	}
	if resp.StatusCode != http.StatusCreated {
		return "", time.Time{}, fmt.Errorf("access token: %d: %s", resp.StatusCode, out.Message)
	}
	return out.Token, out.ExpiresAt, nil
}

// RevokeAccessToken revokes the access token with id (its jti) at once
// (DELETE /access-tokens/{id}), with the client's credential: the key
// it was made from, a key manager's key, or the token itself. A
// *StatusError says why the server refused.
func (c *Client) RevokeAccessToken(ctx context.Context, id string) error {
	return c.call(ctx, http.MethodDelete, "/access-tokens/"+url.PathEscape(id), nil, nil, http.StatusNoContent, false)
}
