package network_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	osexec "os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/soulbox/soulbox/internal/network"
	"github.com/soulbox/soulbox/internal/network/fakenet"
	"github.com/soulbox/soulbox/internal/runtime"
	"github.com/soulbox/soulbox/internal/testutil"
)

var (
	worldPrefix = netip.MustParsePrefix("198.51.100.0/25")
	metadata    = netip.MustParseAddr("169.254.169.254")
	// lanAddr is a private address the host routes through the uplink,
	// as an operator's LAN would be.
	lanAddr  = netip.MustParseAddr("10.99.88.10")
	testPool = netip.MustParsePrefix("10.251.0.0/24")
)

func newManager(t *testing.T, w *fakenet.World) *network.Manager {
	t.Helper()
	return newManagerWith(t, network.Config{Uplink: w.Uplink, Upstream: w.DNS})
}

// newManagerWith starts a manager of cfg with the tests' pool, tag and a
// fresh namespace directory.
func newManagerWith(t *testing.T, cfg network.Config) *network.Manager {
	t.Helper()
	cfg.Pool, cfg.Tag, cfg.NetnsDir = testPool, "nt", t.TempDir()+"/netns"
	m, err := network.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		m.Close()
		if err := m.Uninstall(); err != nil {
			t.Error(err)
		}
	})
	return m
}

func prefixes(ss ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range ss {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}

// get fetches http://host/ from inside the sandbox's namespace. The bound
// is long enough for a busy host: what policy blocks is refused at once
// with a reset (see refused), so it costs a blocked fetch nothing.
func get(t *testing.T, a network.Attachment, host string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return fakenet.Get(ctx, a.NetnsPath, "http://"+host+"/")
}

// refused checks that a fetch of a blocked destination failed as a
// firewall's refusal does (a TCP reset), not at its timeout.
func refused(t *testing.T, what string, body string, err error) {
	t.Helper()
	if err == nil {
		t.Errorf("%s answered %q", what, body)
	} else if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("%s: %v; want connection refused", what, err)
	}
}

// resolve asks the sandbox's nameserver (its gateway) from inside it. The
// bound is long enough for a busy host: a sandbox denied DNS is refused at
// once (an ICMP administratively-prohibited), not left to time out.
func resolve(t *testing.T, a network.Attachment, name string) (string, error) {
	t.Helper()
	var out string
	err := fakenet.DoAt(a.NetnsPath, func() error {
		c := &dns.Client{Timeout: 5 * time.Second}
		m := new(dns.Msg)
		m.SetQuestion(dns.Fqdn(name), dns.TypeA)
		r, _, err := c.Exchange(m, net.JoinHostPort(a.Gateway.String(), "53"))
		if err != nil {
			return err
		}
		for _, rr := range r.Answer {
			if a, ok := rr.(*dns.A); ok {
				out = a.A.String()
			}
		}
		return nil
	})
	return out, err
}

func TestSandboxNetwork(t *testing.T) {
	testutil.RequiresRoot(t)
	w := fakenet.New(t, "fwnt0", worldPrefix, []string{"outside.test", "other.test"}, metadata, lanAddr)
	m := newManager(t, w)
	ctx := context.Background()
	out, other := w.Servers[0], w.Servers[1]

	a, err := m.Setup(ctx, "net-a", "", runtime.NetworkPolicy{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Teardown(ctx, "net-a")
	if !testPool.Contains(a.Address) || !testPool.Contains(a.Gateway) {
		t.Fatalf("attachment %+v is not from the pool %s", a, testPool)
	}

	t.Run("internet by default, masqueraded", func(t *testing.T) {
		body, err := get(t, a, out.String())
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(body, fakenet.Hello(out)) || !strings.Contains(body, w.HostAddr.String()+":") {
			t.Fatalf("body %q: want the hello of %s seen from %s", body, out, w.HostAddr)
		}
	})
	t.Run("dns through the gateway", func(t *testing.T) {
		got, err := resolve(t, a, "outside.test")
		if err != nil || got != out.String() {
			t.Fatalf("outside.test resolved to %q, %v; want %s", got, err, out)
		}
	})
	t.Run("metadata blocked", func(t *testing.T) {
		body, err := get(t, a, metadata.String())
		refused(t, "the metadata address", body, err)
	})
	// A server on the host, on every address: the sandbox must reach it
	// by none of them, whatever its policy.
	hostLn, err := net.Listen("tcp4", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hostLn.Close()
	go func() {
		for {
			c, err := hostLn.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("HTTP/1.0 200 OK\r\n\r\nhost"))
			c.Close()
		}
	}()
	hostPort := uint16(hostLn.Addr().(*net.TCPAddr).Port)
	t.Run("host blocked", func(t *testing.T) {
		for _, h := range []netip.Addr{a.Gateway, w.HostAddr} {
			body, err := get(t, a, netip.AddrPortFrom(h, hostPort).String())
			refused(t, "host address "+h.String(), body, err)
		}
	})
	t.Run("other sandbox blocked", func(t *testing.T) {
		b, err := m.Setup(ctx, "net-b", "", runtime.NetworkPolicy{})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Teardown(ctx, "net-b")
		var ln net.Listener
		if err := fakenet.DoAt(b.NetnsPath, func() (err error) { ln, err = net.Listen("tcp4", ":80"); return err }); err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		body, err := get(t, a, b.Address.String())
		refused(t, "sandbox b", body, err)
	})

	t.Run("only out of the uplink", func(t *testing.T) {
		// A second host interface (a container bridge, a VPN, a second
		// NIC), with a server the host routes to: never through a sandbox.
		side := fakenet.New(t, "fwnt5", netip.MustParsePrefix("198.51.100.128/26"), []string{"side.test"})
		if body, err := get(t, a, side.Servers[0].String()); err == nil {
			t.Errorf("a server behind another host interface answered %q", body)
		}
	})
	t.Run("private ranges only when allowOut names them", func(t *testing.T) {
		if body, err := get(t, a, lanAddr.String()); err == nil {
			t.Errorf("a private address answered by default: %q", body)
		}
		if err := m.SetPolicy(ctx, "net-a", runtime.NetworkPolicy{AllowOut: prefixes("10.99.88.0/24")}); err != nil {
			t.Fatal(err)
		}
		defer m.SetPolicy(ctx, "net-a", runtime.NetworkPolicy{})
		if _, err := get(t, a, lanAddr.String()); err != nil {
			t.Errorf("a private address allowOut names: %v", err)
		}
	})

	cases := []struct {
		name      string
		policy    runtime.NetworkPolicy
		reach     []netip.Addr
		blocked   []netip.Addr
		dnsWorks  bool
		dnsReason string
	}{
		{"no internet", runtime.NetworkPolicy{DenyOut: prefixes("0.0.0.0/0")}, nil, []netip.Addr{out, other}, false, "a sandbox that may reach nothing gets no DNS"},
		{"deny one", runtime.NetworkPolicy{DenyOut: prefixes(other.String() + "/32")}, []netip.Addr{out}, []netip.Addr{other}, true, ""},
		{"allow one of all denied", runtime.NetworkPolicy{AllowOut: prefixes(out.String() + "/32"), DenyOut: prefixes("0.0.0.0/0")}, []netip.Addr{out}, []netip.Addr{other}, true, ""},
		{"allow beats deny", runtime.NetworkPolicy{AllowOut: prefixes("198.51.100.0/24"), DenyOut: prefixes(out.String()+"/32", "198.51.100.0/25")}, []netip.Addr{out, other}, nil, true, ""},
		{"allow never opens metadata", runtime.NetworkPolicy{AllowOut: prefixes("0.0.0.0/0")}, []netip.Addr{out}, []netip.Addr{metadata}, true, ""},
		{"back to open", runtime.NetworkPolicy{}, []netip.Addr{out, other}, []netip.Addr{metadata}, true, ""},
	}
	for _, c := range cases {
		t.Run("policy "+c.name, func(t *testing.T) {
			if err := m.SetPolicy(ctx, "net-a", c.policy); err != nil {
				t.Fatal(err)
			}
			for _, r := range c.reach {
				if _, err := get(t, a, r.String()); err != nil {
					t.Errorf("%s unreachable: %v", r, err)
				}
			}
			for _, b := range c.blocked {
				body, err := get(t, a, b.String())
				refused(t, b.String(), body, err)
			}
			body, err := get(t, a, netip.AddrPortFrom(w.HostAddr, hostPort).String())
			refused(t, "the host", body, err)
			got, err := resolve(t, a, "other.test")
			if works := err == nil && got == other.String(); works != c.dnsWorks {
				t.Errorf("dns works = %v (%q, %v), want %v %s", works, got, err, c.dnsWorks, c.dnsReason)
			}
		})
	}
}

func TestPrivateOut(t *testing.T) {
	testutil.RequiresRoot(t)
	w := fakenet.New(t, "fwnt1", netip.MustParsePrefix("198.51.100.128/26"), []string{"x.test"}, lanAddr)
	m := newManagerWith(t, network.Config{Uplink: w.Uplink, Upstream: w.DNS, PrivateOut: true})
	ctx := context.Background()
	a, err := m.Setup(ctx, "priv-a", "", runtime.NetworkPolicy{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Teardown(ctx, "priv-a")
	if _, err := get(t, a, lanAddr.String()); err != nil {
		t.Errorf("with PrivateOut, a private address is unreachable: %v", err)
	}
	if err := m.SetPolicy(ctx, "priv-a", runtime.NetworkPolicy{DenyOut: prefixes("10.99.88.0/24")}); err != nil {
		t.Fatal(err)
	}
	if body, err := get(t, a, lanAddr.String()); err == nil {
		t.Errorf("denyOut of a private range under PrivateOut: %q", body)
	}
}

func TestTeardownLeavesNothing(t *testing.T) {
	testutil.RequiresRoot(t)
	w := fakenet.New(t, "fwnt1", netip.MustParsePrefix("198.51.100.128/26"), []string{"x.test"})
	m := newManager(t, w)
	ctx := context.Background()

	if _, err := m.Setup(ctx, "tear-a", "", runtime.NetworkPolicy{DenyOut: prefixes("10.0.0.0/8")}); err != nil {
		t.Fatal(err)
	}
	if left := m.Leftovers(ctx, "tear-a"); len(left) < 4 {
		t.Fatalf("leftovers of a live sandbox %v: the leak check sees too little", left)
	}
	if _, err := m.Setup(ctx, "tear-a", "", runtime.NetworkPolicy{}); err == nil {
		t.Fatal("a second setup of the same id succeeded")
	}
	if err := m.Teardown(ctx, "tear-a"); err != nil {
		t.Fatal(err)
	}
	if left := m.Leftovers(ctx, "tear-a"); len(left) > 0 {
		t.Fatalf("after teardown: %v", left)
	}
	if err := m.Teardown(ctx, "tear-a"); err != nil {
		t.Fatalf("second teardown: %v", err)
	}

	t.Run("teardown after a partial setup", func(t *testing.T) {
		a, err := m.Setup(ctx, "tear-d", "", runtime.NetworkPolicy{})
		if err != nil {
			t.Fatal(err)
		}
		if err := fakenet.DoAt(a.NetnsPath, func() error { return nil }); err != nil {
			t.Fatal(err)
		}
		// The sandbox's own link gone (as if setup died before making
		// it), then the teardown.
		var link string
		for _, l := range m.Leftovers(ctx, "tear-d") {
			if name, ok := strings.CutPrefix(l, "link "); ok {
				link = name
			}
		}
		if link == "" {
			t.Fatal("tear-d has no link among its leftovers")
		}
		if err := exec(t, "ip", "link", "del", link); err != nil {
			t.Fatalf("delete link %s: %v", link, err)
		}
		for _, l := range m.Leftovers(ctx, "tear-d") {
			if strings.HasPrefix(l, "link ") {
				t.Fatalf("after deleting %s, tear-d still has %s", link, l)
			}
		}
		if err := m.Teardown(ctx, "tear-d"); err != nil {
			t.Fatal(err)
		}
		if left := m.Leftovers(ctx, "tear-d"); len(left) > 0 {
			t.Fatalf("after teardown: %v", left)
		}
	})
	t.Run("a restarted manager adopts, lists and removes", func(t *testing.T) {
		a, err := m.Setup(ctx, "tear-b", "", runtime.NetworkPolicy{})
		if err != nil {
			t.Fatal(err)
		}
		m.Close()
		m2, err := network.New(ctx, network.Config{Pool: testPool, Uplink: w.Uplink, Upstream: w.DNS, Tag: "nt", NetnsDir: strings.TrimSuffix(a.NetnsPath, "/tear-b")})
		if err != nil {
			t.Fatal(err)
		}
		defer m2.Close()
		ids, err := m2.List(ctx)
		if err != nil || len(ids) != 1 || ids[0] != "tear-b" {
			t.Fatalf("list after restart: %v, %v", ids, err)
		}
		if c, err := m2.Setup(ctx, "tear-c", "", runtime.NetworkPolicy{}); err != nil || c.Address == a.Address {
			t.Fatalf("setup after restart: %+v, %v (tear-b has %s)", c, err, a.Address)
		}
		for _, id := range []string{"tear-b", "tear-c"} {
			if err := m2.Teardown(ctx, id); err != nil {
				t.Fatal(err)
			}
			if left := m2.Leftovers(ctx, id); len(left) > 0 {
				t.Fatalf("%s after teardown: %v", id, left)
			}
		}
	})
}

func TestConfigRejected(t *testing.T) {
	testutil.RequiresRoot(t)
	for _, c := range []network.Config{
		{Pool: netip.MustParsePrefix("192.0.2.0/24"), Uplink: "lo", Upstream: "127.0.0.1", Tag: "nt"}, // the host's eth0 network here
		{Pool: netip.MustParsePrefix("10.9.0.1/24"), Uplink: "lo", Upstream: "127.0.0.1"},
		{Pool: netip.MustParsePrefix("10.9.0.0/30"), Uplink: "lo", Upstream: "127.0.0.1"},
		{Uplink: "no-such-link0", Upstream: "127.0.0.1"},
		{Upstream: "resolver.example"},
		{Tag: "Bad_Tag"},
	} {
		if m, err := network.New(context.Background(), c); err == nil {
			m.Close()
			t.Errorf("config %+v accepted", c)
		}
	}
}

func exec(t *testing.T, name string, args ...string) error {
	t.Helper()
	return osexec.Command(name, args...).Run()
}

// A restarted server takes the default pool its sandboxes' addresses come
// from again, even when a default pool before it came free meanwhile:
// adopted sandboxes keep their addresses, which must stay in the pool.
func TestRestartKeepsDefaultPool(t *testing.T) {
	testutil.RequiresRoot(t)
	w := fakenet.New(t, "fwnt3", netip.MustParsePrefix("198.51.100.192/27"), []string{"y.test"})
	ctx := context.Background()
	start := func(tag, dir string) *network.Manager {
		t.Helper()
		m, err := network.New(ctx, network.Config{Uplink: w.Uplink, Upstream: w.DNS, Tag: tag, NetnsDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { m.Close(); _ = m.Uninstall() })
		return m
	}
	first := start("rpa", t.TempDir()+"/netns")
	if _, err := first.Setup(ctx, "hold-a", "", runtime.NetworkPolicy{}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir() + "/netns"
	second := start("rpb", dir)
	if second.Pool() == first.Pool() {
		t.Fatalf("two servers took the pool %s", first.Pool())
	}
	if _, err := second.Setup(ctx, "keep-b", "", runtime.NetworkPolicy{}); err != nil {
		t.Fatal(err)
	}
	pool := second.Pool()
	second.Close() // keeps keep-b's network: it has a sandbox
	if err := first.Teardown(ctx, "hold-a"); err != nil {
		t.Fatal(err)
	}
	first.Close() // idle: removes everything of its tag, so its pool is free

	again := start("rpb", dir)
	if again.Pool() != pool {
		t.Errorf("after a restart the pool is %s; its sandbox's addresses are in %s", again.Pool(), pool)
	}
	if err := again.Teardown(ctx, "keep-b"); err != nil {
		t.Error(err)
	}
}
