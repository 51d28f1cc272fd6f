package remotedriver

import (
	"context"

	"connectrpc.com/connect"

	nodev1 "github.com/soulbox/soulbox/api/node/v1"
)

// Ping checks that the node's sandbox service answers: a connection,
// the mutual TLS handshake and one call. Unlike Name it is never
// answered from memory.
func (d *Driver) Ping(ctx context.Context) error {
	_, err := d.c.Name(ctx, connect.NewRequest(&nodev1.NameRequest{}))
	return d.wireErr(err)
}
