package client

import (
	"context"
	"net/url"
)

// KillProcesses kills every process of a running sandbox but its agent
// and returns once they are gone (POST /sandboxes/{id}/processes/kill,
// a SoulBox extension): the way back for a sandbox whose processes fill
// its limits.
func (c *Client) KillProcesses(ctx context.Context, id string) error {
	_, err := c.do(ctx, "POST", "/sandboxes/"+url.PathEscape(id)+"/processes/kill", nil, nil)
	return err
}
