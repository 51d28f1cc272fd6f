package client

import (
	"context"
	"io"

	"github.com/soulbox/soulbox/sdk/go/soulbox"
)

// Terminal is an interactive shell on a PTY in a sandbox.
type Terminal struct {
	t *soulbox.Terminal
}

// OpenTerminal starts a login shell on a new terminal of cols x rows, as
// the SDKs' pty.create does. ctx bounds the terminal's life.
func (c *Client) OpenTerminal(ctx context.Context, sb Sandbox, cols, rows uint32, term string) (*Terminal, error) {
	h, err := c.handle(ctx, sb)
	if err != nil {
		return nil, err
	}
	o := &soulbox.PTYOptions{Cols: cols, Rows: rows}
	if term != "" {
		o.Envs = map[string]string{"TERM": term}
	}
	t, err := h.PTY.Create(ctx, o)
	if err != nil {
		return nil, err
	}
	return &Terminal{t: t}, nil
}

// Input types into the terminal.
func (t *Terminal) Input(_ context.Context, b []byte) error {
	_, err := t.t.Write(b)
	return err
}

// Resize changes the terminal's size.
func (t *Terminal) Resize(ctx context.Context, cols, rows uint32) error {
	return t.t.Resize(ctx, cols, rows)
}

// Copy writes the terminal's output to w until the shell ends, and returns
// its exit code.
func (t *Terminal) Copy(w io.Writer) (int, error) {
	defer t.t.Close()
	if _, err := io.Copy(w, t.t); err != nil {
		return 0, err
	}
	return t.t.Wait(), nil
}
