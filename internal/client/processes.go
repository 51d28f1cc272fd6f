package client

import (
	"context"
	"errors"
	"io"

	"github.com/soulbox/soulbox/sdk/go/soulbox"
)

// Process is a process running in a sandbox, started through the agent.
type Process struct {
	Pid  uint32   `json:"pid"`
	Tag  string   `json:"tag,omitempty"`
	Cmd  string   `json:"cmd"`
	Args []string `json:"args"`
	Cwd  string   `json:"cwd,omitempty"`
}

// Processes lists the processes the sandbox's agent runs.
func (c *Client) Processes(ctx context.Context, sb Sandbox) ([]Process, error) {
	h, err := c.handle(ctx, sb)
	if err != nil {
		return nil, err
	}
	list, err := h.Commands.List(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Process, 0, len(list))
	for _, p := range list {
		out = append(out, Process{Pid: p.PID, Tag: p.Tag, Cmd: p.Cmd, Args: p.Args, Cwd: p.Cwd})
	}
	return out, nil
}

// Attach streams the output of a running process from now on until it
// ends, and returns its exit code (-1 when killed by a signal).
func (c *Client) Attach(ctx context.Context, sb Sandbox, pid uint32, stdout, stderr io.Writer) (int, error) {
	h, err := c.handle(ctx, sb)
	if err != nil {
		return 0, err
	}
	cmd, err := h.Commands.Connect(ctx, pid, &soulbox.RunOptions{Stdout: stdout, Stderr: stderr})
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
