package client

import (
	"context"
	"time"
)

// SetTimeout makes sandbox id end timeout from now.
func (c *Client) SetTimeout(ctx context.Context, id string, timeout time.Duration) error {
	api, err := c.api()
	if err != nil {
		return err
	}
	return api.SetTimeout(ctx, id, timeout)
}
