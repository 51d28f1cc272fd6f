package network_test

import (
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/network"
	"github.com/soulbox/soulbox/internal/network/fakenet"
)

// TestLoopbackReachesTheListeners: the shared table closes the
// forwarder's port to other hosts, not to loopback, where the forwarder
// itself refuses what is not a sandbox. A drop on loopback black-holes
// the host's own connections to that port number, which a table left by
// a crashed server would do to whatever took the port next (CRIU's
// self-connect at a checkpoint timed out after two minutes so).
func TestLoopbackReachesTheListeners(t *testing.T) {
	w := fakenet.New(t, "fwnt6", netip.MustParsePrefix("198.51.100.128/26"), []string{"x.test"})
	m := newManager(t, w)
	addr := fmt.Sprintf("127.0.0.1:%d", network.DNSPort(m))
	c, err := net.DialTimeout("tcp", addr, 3*time.Second)
	if err != nil {
		t.Fatalf("connect to the forwarder's port over loopback: %v (dropped, not refused)", err)
	}
	c.Close()
}
