package client

import (
	"context"
	"errors"
	"io"

	"github.com/soulbox/soulbox/sdk/go/soulbox"
)

// ExecOptions say how to run a command in a sandbox.
type ExecOptions struct {
	User   string // default: the sandbox's default user
	Cwd    string
	Env    map[string]string
	Stdin  io.Reader // nil: no stdin
	Stdout io.Writer
	Stderr io.Writer
}

// Exec runs argv in sandbox sb, streaming its output, and returns its exit
// code (-1 when killed by a signal). Cancelling ctx kills the command.
func (c *Client) Exec(ctx context.Context, sb Sandbox, argv []string, o ExecOptions) (int, error) {
	h, err := c.handle(ctx, sb)
	if err != nil {
		return 0, err
	}
	cmd, err := h.Commands.Exec(ctx, argv, &soulbox.RunOptions{User: o.User, Cwd: o.Cwd, Envs: o.Env, Stdin: o.Stdin, Stdout: o.Stdout, Stderr: o.Stderr})
	if err != nil {
		return 0, err
	}
	res, err := cmd.Wait()
	var exit *soulbox.ExitError
	if err != nil && !errors.As(err, &exit) {
		return 0, err
	}
	return res.ExitCode, nil
}
