package remotedriver_test

import (
	"bytes"
	"context"
	"net"
	"testing"
	"time"
)

// A sandbox that stops reading what it is sent holds up its own
// connection only: the node's other calls still answer.
func TestStalledDialDoesNotStallCalls(t *testing.T) {
	h := newHost()
	hold := make(chan struct{})
	defer close(hold)
	h.sandboxServer(t, "slow", func(c net.Conn) { <-hold; c.Close() })
	h.sandboxServer(t, "other", func(c net.Conn) { c.Close() })
	d := startNode(t, h)
	ctx := context.Background()
	c, err := d.DialContext(ctx, "slow", 80)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	wrote := make(chan struct{})
	go func() { c.Write(bytes.Repeat([]byte("x"), 32<<20)); close(wrote) }() // never read: blocks
	// The upload fills every flow control window it can, then waits.
	select {
	case <-wrote:
		t.Fatal("32 MiB went to a sandbox that reads nothing")
	case <-time.After(500 * time.Millisecond):
	}
	if err := within(t, "Info of another sandbox", func() error { _, err := d.Info(ctx, "other"); return err }); err != nil {
		t.Fatal(err)
	}
	if err := within(t, "Destroy of another sandbox", func() error { return d.Destroy(ctx, "other") }); err != nil {
		t.Fatal(err)
	}
}
