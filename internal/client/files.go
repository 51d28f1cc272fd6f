package client

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// sandboxRequest builds a request to the sandbox's agent through the
// server's proxy.
func (c *Client) sandboxRequest(ctx context.Context, sb Sandbox, method, path string, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.BaseURL, "/")+path, body)
	if err != nil {
		return nil, err
	}
	c.sandboxHeaders(sb, "").(headerInterceptor)(req.Header)
	return req, nil
}

// Upload writes r to path in the sandbox (parents created, owned by the
// sandbox's default user). size may be -1 when unknown.
func (c *Client) Upload(ctx context.Context, sb Sandbox, path string, r io.Reader, size int64) error {
	req, err := c.sandboxRequest(ctx, sb, "POST", "/files?path="+url.QueryEscape(path), r)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	req.ContentLength = size
	return c.sandboxDo(req, nil)
}

// Download copies the file at path in the sandbox to w.
func (c *Client) Download(ctx context.Context, sb Sandbox, path string, w io.Writer) error {
	req, err := c.sandboxRequest(ctx, sb, "GET", "/files?path="+url.QueryEscape(path), nil)
	if err != nil {
		return err
	}
	return c.sandboxDo(req, w)
}

func (c *Client) sandboxDo(req *http.Request, w io.Writer) error {
	resp, err := c.http().Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach the SoulBox server at %s: %w", c.BaseURL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return apiError(resp.StatusCode, b)
	}
	if w == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	_, err = io.Copy(w, resp.Body)
	return err
}
