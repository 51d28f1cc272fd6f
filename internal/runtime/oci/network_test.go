package oci

import (
	"context"
	"net/netip"
	"testing"

	"github.com/soulbox/soulbox/internal/network"
	"github.com/soulbox/soulbox/internal/runtime"
	"github.com/soulbox/soulbox/internal/runtime/oci/ocitest"
	"github.com/soulbox/soulbox/internal/runtime/runtimetest"
)

// newNetworkedDriver returns a driver whose sandboxes get a network from
// pool, sent out of loopback: nothing here leaves the host.
func newNetworkedDriver(t testing.TB, pool string, runtimeBinaries map[string]string) *Driver {
	t.Helper()
	root := ocitest.Root(t)
	m, err := network.New(context.Background(), network.Config{
		Pool: netip.MustParsePrefix(pool), Uplink: "lo", Upstream: "127.0.0.1", Tag: network.TagFor(root),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() }) // ocitest.Root's cleanup removes what is left
	d, err := New(Config{Root: root, AgentPath: ocitest.AgentBinary(t), Templates: ocitest.Templates(t),
		RuntimePaths: runtimeBinaries, Network: m})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestConformanceWithNetwork(t *testing.T) {
	if testing.Short() {
		t.Skip("creates real sandboxes")
	}
	runtimetest.Run(t, func(t *testing.T) runtime.Driver { return newNetworkedDriver(t, "10.250.0.0/24", nil) }, runtimetest.Options{
		Template: "base",
		Network:  true,
		NewFaultyDriver: func(t *testing.T) runtime.Driver {
			return newNetworkedDriver(t, "10.250.1.0/24", map[string]string{"runc": failpointRuntime(t, "runc", "create")})
		},
	})
}

// TestNetworkOrphansAreListedAndDestroyed is what reconciliation relies on
// after a crash: network objects whose sandbox is gone are listed by the
// driver and removed by Destroy.
func TestNetworkOrphansAreListedAndDestroyed(t *testing.T) {
	if testing.Short() {
		t.Skip("creates real sandboxes")
	}
	d := newNetworkedDriver(t, "10.250.2.0/24", nil)
	ctx := context.Background()
	// A crash after the network was set up and before anything else,
	// with every kind of network state: domain rules (the proxy's
	// redirect, the dns set), bandwidth caps and a connection cap.
	p := runtime.NetworkPolicy{AllowDomains: []string{"x.test"}, DenyOut: []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")},
		Limits: runtime.NetworkLimits{EgressMbps: 10, IngressMbps: 10, MaxConnections: 5}}
	if _, err := d.network.Setup(ctx, "orphan-net", "", p); err != nil {
		t.Fatal(err)
	}
	list, err := d.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, s := range list {
		found = found || s.ID == "orphan-net"
	}
	if !found {
		t.Fatalf("the orphan's network is not listed: %+v", list)
	}
	if err := d.Destroy(ctx, "orphan-net"); err != nil {
		t.Fatal(err)
	}
	if left := d.Leftovers(ctx, "orphan-net"); len(left) > 0 {
		t.Fatalf("after destroy: %v", left)
	}
}
