package client

import (
	"context"
	"io"
)

// Upload writes r to path in the sandbox (parents created, owned by the
// sandbox's default user). size is not needed and may be -1.
func (c *Client) Upload(ctx context.Context, sb Sandbox, path string, r io.Reader, size int64) error {
	h, err := c.handle(ctx, sb)
	if err != nil {
		return err
	}
	_, err = h.Files.Write(ctx, path, r, nil)
	return err
}

// Download copies the file at path in the sandbox to w.
func (c *Client) Download(ctx context.Context, sb Sandbox, path string, w io.Writer) error {
	h, err := c.handle(ctx, sb)
	if err != nil {
		return err
	}
	r, err := h.Files.Read(ctx, path, nil)
	if err != nil {
		return err
	}
	defer r.Close()
	_, err = io.Copy(w, r)
	return err
}
