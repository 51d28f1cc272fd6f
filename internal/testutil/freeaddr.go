package testutil

import (
	"math/rand/v2"
	"net"
	"strconv"
	"testing"
)

// Loopback ports FreeAddr chooses from: below the kernel's usual
// ephemeral range (32768-60999), which every outgoing connection on the
// host and every listen on port 0 draw from.
const (
	freePortLow  = 20000
	freePortHigh = 32768
)

// FreeAddr returns a loopback address ("127.0.0.1:port") free now, for a
// child process to listen on. The port is taken at random below the
// ephemeral range: one a listen on port 0 handed out is soon handed
// again to some connection of another test running beside this one,
// and the child then fails to bind it. Only a port FreeAddr could bind
// is returned; after many taken ones it falls back to port 0.
func FreeAddr(t testing.TB) string {
	t.Helper()
	for range 64 {
		addr := "127.0.0.1:" + strconv.Itoa(freePortLow+rand.IntN(freePortHigh-freePortLow))
		if ln, err := net.Listen("tcp", addr); err == nil {
			ln.Close()
			return addr
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
