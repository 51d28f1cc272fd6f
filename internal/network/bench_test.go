package network_test

import (
	"context"
	"fmt"
	"net/netip"
	"testing"

	"github.com/soulbox/soulbox/internal/network"
	"github.com/soulbox/soulbox/internal/runtime"
)

// benchManager sends nothing anywhere: loopback is its uplink.
func benchManager(b *testing.B, pool string) *network.Manager {
	b.Helper()
	m, err := network.New(context.Background(), network.Config{
		Pool: netip.MustParsePrefix(pool), Uplink: "lo", Upstream: "127.0.0.1", Tag: "nb", NetnsDir: b.TempDir() + "/netns",
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		m.Close()
		if err := m.Uninstall(); err != nil {
			b.Error(err)
		}
	})
	return m
}

// BenchmarkSetup is the network's share of a cold create: a namespace
// with its sysctls, the veth pair, addresses and route, the policy table.
func BenchmarkSetup(b *testing.B) {
	if testing.Short() {
		b.Skip("needs root and changes the host's network")
	}
	m := benchManager(b, "10.249.0.0/20")
	ctx := context.Background()
	for i := 0; b.Loop(); i++ {
		id := fmt.Sprintf("bench-%d", i)
		if _, err := m.Setup(ctx, id, "", runtime.NetworkPolicy{}); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := m.Teardown(ctx, id); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}

// BenchmarkSetPolicy replaces a policy of n allow and n deny rules, one
// nftables transaction each.
func BenchmarkSetPolicy(b *testing.B) {
	if testing.Short() {
		b.Skip("needs root and changes the host's network")
	}
	m := benchManager(b, "10.249.16.0/24")
	ctx := context.Background()
	if _, err := m.Setup(ctx, "bench-policy", "", runtime.NetworkPolicy{}); err != nil {
		b.Fatal(err)
	}
	defer m.Teardown(ctx, "bench-policy")
	for _, n := range []int{0, 50} {
		b.Run(fmt.Sprintf("rules=%d+%d", n, n), func(b *testing.B) {
			var policies [2]runtime.NetworkPolicy
			for i := range n {
				policies[0].AllowOut = append(policies[0].AllowOut, netip.MustParsePrefix(fmt.Sprintf("10.%d.0.0/16", i)))
				policies[0].DenyOut = append(policies[0].DenyOut, netip.MustParsePrefix(fmt.Sprintf("172.16.%d.0/24", i)))
				policies[1].AllowOut = append(policies[1].AllowOut, netip.MustParsePrefix(fmt.Sprintf("192.168.%d.0/24", i)))
				policies[1].DenyOut = append(policies[1].DenyOut, netip.MustParsePrefix(fmt.Sprintf("10.100.%d.0/24", i)))
			}
			for i := 0; b.Loop(); i++ {
				if err := m.SetPolicy(ctx, "bench-policy", policies[i%2]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
