// Package client talks to a SoulBox server the way the E2B SDKs do: the
// REST API for sandboxes, and sandbox traffic (the agent's envd protocol)
// through the server's proxy. The CLI is built on it.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Client is a connection to one server with one API key.
type Client struct {
	// BaseURL is the server, e.g. http://127.0.0.1:3000.
	BaseURL string
	// APIKey is sent as X-API-Key.
	APIKey string
	// HTTP is the HTTP client; nil uses http.DefaultClient.
	HTTP *http.Client
}

// Error is an error answer of the server: its status and message.
type Error struct {
	Status  int
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("%s (HTTP %d)", e.Message, e.Status) }

func (c *Client) http() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

// do sends a JSON request and decodes a JSON answer into out (if not nil).
// It returns the response headers.
func (c *Client) do(ctx context.Context, method, path string, body, out any) (http.Header, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.BaseURL, "/")+path, r)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-API-Key", c.APIKey)
	resp, err := c.http().Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot reach the SoulBox server at %s: %w", c.BaseURL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 300 {
		return resp.Header, apiError(resp.StatusCode, b)
	}
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.Header, fmt.Errorf("%s %s: unexpected answer: %w", method, path, err)
		}
	}
	return resp.Header, nil
}

// apiError reads an error answer: {code, message} when the server sent
// one, else the body as text.
func apiError(status int, body []byte) *Error {
	e := &Error{Status: status, Message: strings.TrimSpace(string(body))}
	var m struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &m) == nil && m.Message != "" {
		e.Message = m.Message
	}
	return e
}
