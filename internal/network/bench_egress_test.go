package network_test

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/network"
	"github.com/soulbox/soulbox/internal/network/fakenet"
	"github.com/soulbox/soulbox/internal/runtime"
)

var fullScale = flag.Bool("network.full", false, "benchmarks at full size: 200 sandboxes with rules instead of 20")

// worldManager is a manager whose uplink and resolver are a fake world's.
func worldManager(b *testing.B, link, pool string) (*network.Manager, *fakenet.World) {
	b.Helper()
	if testing.Short() {
		b.Skip("needs root and changes the host's network")
	}
	w := fakenet.New(b, link, netip.MustParsePrefix("198.51.100.0/25"), []string{"exact.test", "other.test"})
	m, err := network.New(context.Background(), network.Config{
		Pool: netip.MustParsePrefix(pool), Uplink: w.Uplink, Upstream: w.DNS, Tag: "nb", NetnsDir: b.TempDir() + "/netns",
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
	return m, w
}

// sendTo writes n bytes to the world's sink at srv over a connection
// dial opens, and waits for the sink to count them.
func sendTo(b *testing.B, dial func(ctx context.Context, addr string) (net.Conn, error), srv netip.Addr, n int64) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := dial(ctx, netip.AddrPortFrom(srv, fakenet.SinkPort).String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	if _, err := io.CopyN(c, zeroReader{}, n); err != nil {
		b.Fatal(err)
	}
	_ = c.(*net.TCPConn).CloseWrite()
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != fmt.Sprint(n) {
		b.Fatalf("sink counted %q, %v; sent %d", line, err, n)
	}
}

// BenchmarkEgressThroughput sends 16 MiB per iteration to the fake
// world: from a sandbox through its veth, the forward chains and NAT, and
// from the host itself through the world's veth only (the baseline).
func BenchmarkEgressThroughput(b *testing.B) {
	m, w := worldManager(b, "fwnb0", "10.249.32.0/24")
	ctx := context.Background()
	a, err := m.Setup(ctx, "bench-tput", "", runtime.NetworkPolicy{DenyOut: prefixes("10.0.0.0/8")})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Teardown(ctx, "bench-tput")
	const n = 16 << 20
	for _, tc := range []struct {
		name string
		dial func(ctx context.Context, addr string) (net.Conn, error)
	}{
		{"sandbox-nat", func(ctx context.Context, addr string) (net.Conn, error) { return dialIn(ctx, a, addr) }},
		{"host-baseline", func(ctx context.Context, addr string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "tcp4", addr)
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(n)
			for b.Loop() {
				sendTo(b, tc.dial, w.Servers[0], n)
			}
		})
	}
}

// BenchmarkProxyConnect is one new connection and HTTP request per
// iteration from a sandbox: through the domain-filtering proxy (allowOut
// exact.test, denyOut everything), and straight through NAT; and from the
// host itself, for a baseline.
func BenchmarkProxyConnect(b *testing.B) {
	m, w := worldManager(b, "fwnb1", "10.249.33.0/24")
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		policy runtime.NetworkPolicy
	}{
		{"proxy", runtime.NetworkPolicy{AllowDomains: []string{"exact.test"}, DenyOut: prefixes("0.0.0.0/0")}},
		{"direct", runtime.NetworkPolicy{}},
		{"host-baseline", runtime.NetworkPolicy{}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			a, err := m.Setup(ctx, "bench-"+tc.name, "", tc.policy)
			if err != nil {
				b.Fatal(err)
			}
			defer m.Teardown(ctx, "bench-"+tc.name)
			dial := func(addr string) (net.Conn, error) { return dialIn(ctx, a, addr) }
			if tc.name == "host-baseline" {
				dial = func(addr string) (net.Conn, error) { return net.Dial("tcp4", addr) }
			}
			for b.Loop() {
				c, err := dial(netip.AddrPortFrom(w.Servers[0], 80).String())
				if err != nil {
					b.Fatal(err)
				}
				fmt.Fprint(c, "GET / HTTP/1.1\r\nHost: exact.test\r\nConnection: close\r\n\r\n")
				body, err := io.ReadAll(c)
				c.Close()
				if err != nil || !strings.Contains(string(body), fakenet.Hello(w.Servers[0])) {
					b.Fatalf("%q, %v", body, err)
				}
			}
		})
	}
}

// rules50 is a policy of 25 allow and 25 deny CIDRs and domains, made
// different by k.
func rules50(k int) runtime.NetworkPolicy {
	var p runtime.NetworkPolicy
	for i := range 20 {
		p.AllowOut = append(p.AllowOut, netip.MustParsePrefix(fmt.Sprintf("10.%d.%d.0/24", k%200, i)))
	}
	for i := range 5 {
		p.AllowDomains = append(p.AllowDomains, fmt.Sprintf("h%d.d%d.test", i, k))
	}
	for i := range 25 {
		p.DenyOut = append(p.DenyOut, netip.MustParsePrefix(fmt.Sprintf("172.16.%d.%d/32", i, k%250)))
	}
	return p
}

// BenchmarkPolicyUpdateLatency replaces a policy of 50 rules (CIDRs and
// domains) with another, and reports the median and 99th percentile.
func BenchmarkPolicyUpdateLatency(b *testing.B) {
	m, _ := worldManager(b, "fwnb2", "10.249.34.0/24")
	ctx := context.Background()
	if _, err := m.Setup(ctx, "bench-upd", "", rules50(0)); err != nil {
		b.Fatal(err)
	}
	defer m.Teardown(ctx, "bench-upd")
	var ds []time.Duration
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		if err := m.SetPolicy(ctx, "bench-upd", rules50(i%2+1)); err != nil {
			b.Fatal(err)
		}
		ds = append(ds, time.Since(start))
	}
	reportPercentiles(b, ds)
}

func reportPercentiles(b *testing.B, ds []time.Duration) {
	slices.Sort(ds)
	at := func(q float64) float64 { return float64(ds[int(q*float64(len(ds)-1))].Microseconds()) / 1000 }
	b.ReportMetric(at(0.5), "p50-ms")
	b.ReportMetric(at(0.99), "p99-ms")
}

// BenchmarkSetupAmongRules is a sandbox's network setup while N other
// sandboxes each hold a policy of 50 rules, against none: 20 of them, or
// 200 with -network.full.
func BenchmarkSetupAmongRules(b *testing.B) {
	m, _ := worldManager(b, "fwnb3", "10.249.64.0/20")
	ctx := context.Background()
	n := 20
	if *fullScale {
		n = 200
	}
	for _, others := range []int{0, n} {
		b.Run(fmt.Sprintf("others=%d", others), func(b *testing.B) {
			for i := range others {
				id := fmt.Sprintf("bench-other-%d", i)
				if _, err := m.Setup(ctx, id, "", rules50(i)); err != nil {
					b.Fatal(err)
				}
				defer m.Teardown(ctx, id)
			}
			var ds []time.Duration
			for i := 0; b.Loop(); i++ {
				id := fmt.Sprintf("bench-new-%d", i)
				start := time.Now()
				if _, err := m.Setup(ctx, id, "", rules50(1000+i)); err != nil {
					b.Fatal(err)
				}
				ds = append(ds, time.Since(start))
				b.StopTimer()
				if err := m.Teardown(ctx, id); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			reportPercentiles(b, ds)
		})
	}
}
