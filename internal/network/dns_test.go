package network

import (
	"context"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/soulbox/soulbox/internal/network/fakenet"
	"github.com/soulbox/soulbox/internal/runtime"
	"github.com/soulbox/soulbox/internal/testutil"
)

// dialDNS opens a UDP DNS connection to server from inside the
// namespace at nsPath.
func dialDNS(t *testing.T, nsPath, server string) *dns.Conn {
	t.Helper()
	var c net.Conn
	if err := fakenet.DoAt(nsPath, func() (err error) { c, err = net.Dial("udp", server); return err }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &dns.Conn{Conn: c}
}

// ask sends one A query for name on c and returns the answer's rcode, or
// an error if none came.
func ask(c *dns.Conn, name string) (int, error) {
	return askWithin(c, name, 700*time.Millisecond)
}

// askWithin is ask with its own bound: an answer that must come gets one
// long enough for a busy host.
func askWithin(c *dns.Conn, name string, d time.Duration) (int, error) {
	q := new(dns.Msg)
	q.SetQuestion(dns.Fqdn(name), dns.TypeA)
	_ = c.SetDeadline(time.Now().Add(d))
	if err := c.WriteMsg(q); err != nil {
		return -1, err
	}
	for {
		r, err := c.ReadMsg()
		if err != nil {
			return -1, err
		}
		if r.Id == q.Id {
			return r.Rcode, nil
		}
	}
}

func TestDNSForwarderBounds(t *testing.T) {
	testutil.RequiresRoot(t)
	w := fakenet.New(t, "fwnt6", netip.MustParsePrefix("198.51.100.128/26"), []string{"x.test"})
	ctx := context.Background()
	m, err := New(ctx, Config{Pool: netip.MustParsePrefix("10.251.0.0/24"), Uplink: w.Uplink, Upstream: w.DNS, Tag: "nt", NetnsDir: t.TempDir() + "/netns"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		m.Close()
		if err := m.Uninstall(); err != nil {
			t.Error(err)
		}
	})
	port := strconv.Itoa(int(m.dns.port))

	t.Run("closed to the host's other networks", func(t *testing.T) {
		for _, proto := range []string{"udp", "tcp"} {
			// From the world's side of the uplink, as a LAN host would.
			conn, err := w.Dial(proto, net.JoinHostPort(w.HostAddr.String(), port))
			if err != nil {
				continue // TCP refused or dropped: closed
			}
			co := &dns.Conn{Conn: conn}
			if rc, err := ask(co, "x.test"); err == nil {
				t.Errorf("%s from outside the pool: answered %s", proto, dns.RcodeToString[rc])
			}
			co.Close()
		}
	})

	a, err := m.Setup(ctx, "dns-a", "", runtime.NetworkPolicy{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Teardown(ctx, "dns-a")
	b, err := m.Setup(ctx, "dns-b", "", runtime.NetworkPolicy{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Teardown(ctx, "dns-b")

	t.Run("a sandbox is rate-limited, others are not", func(t *testing.T) {
		gw := net.JoinHostPort(a.Gateway.String(), "53")
		var refused, answered atomic.Int32
		var wg sync.WaitGroup
		for g := 0; g < 8; g++ {
			c := dialDNS(t, a.NetnsPath, gw)
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 150; i++ {
					rc, err := ask(c, "x.test")
					switch {
					case err == nil && rc == dns.RcodeRefused:
						refused.Add(1)
					case err == nil && rc == dns.RcodeSuccess:
						answered.Add(1)
					}
				}
			}()
		}
		wg.Wait()
		if refused.Load() == 0 || answered.Load() < dnsBurst {
			t.Fatalf("1200 queries at once: %d answered, %d refused; want the burst answered and the rest refused", answered.Load(), refused.Load())
		}
		if rc, err := askWithin(dialDNS(t, b.NetnsPath, net.JoinHostPort(b.Gateway.String(), "53")), "x.test", 5*time.Second); err != nil || rc != dns.RcodeSuccess {
			t.Errorf("another sandbox meanwhile: rcode %d, %v", rc, err)
		}
	})
}
