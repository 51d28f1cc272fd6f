package client

import (
	"context"

	"github.com/soulbox/soulbox/sdk/go/soulbox"
)

// Handle is the Go SDK's handle on sb, for callers that drive the
// sandbox's agent beyond what Client wraps (watches, batch writes).
func (c *Client) Handle(ctx context.Context, sb Sandbox) (*soulbox.Sandbox, error) {
	return c.handle(ctx, sb)
}
