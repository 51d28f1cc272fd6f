package client

import "context"

// KillProcesses kills every process of a running sandbox but its agent
// and returns once they are gone (POST /sandboxes/{id}/processes/kill,
// a SoulBox extension): the way back for a sandbox whose processes fill
// its limits.
func (c *Client) KillProcesses(ctx context.Context, id string) error {
	api, err := c.api()
	if err != nil {
		return err
	}
	return api.KillProcesses(ctx, id)
}
