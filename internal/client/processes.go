package client

import (
	"context"
	"strings"

	"connectrpc.com/connect"

	pb "github.com/soulbox/soulbox/api/envd/process"
	"github.com/soulbox/soulbox/api/envd/process/processconnect"
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
	proc := processconnect.NewProcessClient(c.http(), strings.TrimRight(c.BaseURL, "/"), connect.WithInterceptors(c.sandboxHeaders(sb, "")))
	res, err := proc.List(ctx, connect.NewRequest(&pb.ListRequest{}))
	if err != nil {
		return nil, err
	}
	out := make([]Process, 0, len(res.Msg.GetProcesses()))
	for _, p := range res.Msg.GetProcesses() {
		out = append(out, Process{Pid: p.GetPid(), Tag: p.GetTag(), Cmd: p.GetConfig().GetCmd(), Args: p.GetConfig().GetArgs(), Cwd: p.GetConfig().GetCwd()})
	}
	return out, nil
}
