// Package fakenet builds an "internet" for tests in a network namespace
// of its own, so that tests of sandbox networking never send a packet
// off the machine: a veth from the host (the uplink the server is told
// to use), HTTP servers on addresses the host routes to it, and a DNS
// server that knows their names.
package fakenet

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	goruntime "runtime"
	"strings"
	"testing"

	"github.com/miekg/dns"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// World is a fake outside world.
type World struct {
	// Uplink is the host side of the link to the world: the interface a
	// server under test sends sandbox traffic out of.
	Uplink string
	// HostAddr is the host's address on the uplink: what the world sees
	// as the source of masqueraded sandbox traffic.
	HostAddr netip.Addr
	// Servers are the addresses with an HTTP server on port 80 (answering
	// with the text Hello(addr)), in the order of New's names.
	Servers []netip.Addr
	// DNS is the address (ip:port) of the world's resolver, which maps
	// each name given to New to its server.
	DNS string
	// Extra are addresses outside the prefix the host also routes to the
	// world, each with an HTTP server (for metadata-like addresses).
	Extra []netip.Addr

	ns      netns.NsHandle
	closers []func()
}

// Hello is the body a server of the world answers every request with;
// the second line is the remote address it saw, the third the Host
// header.
func Hello(addr netip.Addr) string { return "hello from " + addr.String() }

// New builds a world on prefix (a /24 to /26 of a documentation range
// such as 198.51.100.0/24; tests that may run at once take disjoint ones,
// as the host routes the whole prefix) with one HTTP server per name,
// reached from the host through a veth named link. extra addresses (e.g. 169.254.169.254) get a
// server and a host route too. Everything is removed when the test ends.
func New(t testing.TB, link string, prefix netip.Prefix, names []string, extra ...netip.Addr) *World {
	t.Helper()
	w := &World{Uplink: link}
	t.Cleanup(w.close)
	base := prefix.Masked().Addr().As4()
	at := func(n byte) netip.Addr { b := base; b[3] += n; return netip.AddrFrom4(b) }
	w.HostAddr = at(1)
	worldAddr := at(2)
	for i := range names {
		w.Servers = append(w.Servers, at(byte(10+i)))
	}
	w.Extra = extra
	w.DNS = netip.AddrPortFrom(worldAddr, 53).String()

	// The namespace, kept by an open handle.
	nsc := make(chan error, 1)
	go func() {
		goruntime.LockOSThread() // the thread ends in the new namespace
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			nsc <- err
			return
		}
		h, err := netns.Get()
		w.ns = h
		nsc <- err
	}()
	if err := <-nsc; err != nil {
		t.Fatalf("fake world namespace: %v", err)
	}
	w.closers = append(w.closers, func() { w.ns.Close() })

	_ = deleteLink(link) // a leftover of an aborted run
	la := netlink.NewLinkAttrs()
	la.Name = link
	if err := netlink.LinkAdd(&netlink.Veth{LinkAttrs: la, PeerName: "up0", PeerNamespace: netlink.NsFd(int(w.ns))}); err != nil {
		t.Fatalf("fake world veth: %v", err)
	}
	w.closers = append(w.closers, func() { _ = deleteLink(link) })
	host, err := netlink.LinkByName(link)
	must(t, err)
	must(t, netlink.AddrAdd(host, &netlink.Addr{IPNet: ipnet(w.HostAddr, 30)}))
	must(t, netlink.LinkSetUp(host))
	h, err := netlink.NewHandleAt(w.ns, unix.NETLINK_ROUTE)
	must(t, err)
	defer h.Close()
	lo, err := h.LinkByName("lo")
	must(t, err)
	must(t, h.LinkSetUp(lo))
	peer, err := h.LinkByName("up0")
	must(t, err)
	must(t, h.AddrAdd(peer, &netlink.Addr{IPNet: ipnet(worldAddr, 30)}))
	must(t, h.LinkSetUp(peer))
	must(t, h.RouteAdd(&netlink.Route{LinkIndex: peer.Attrs().Index, Gw: net.IP(w.HostAddr.AsSlice())}))
	for _, a := range append(append([]netip.Addr{}, w.Servers...), extra...) {
		must(t, h.AddrAdd(lo, &netlink.Addr{IPNet: ipnet(a, 32)}))
	}
	// The host reaches the world's servers through the link.
	gw := net.IP(worldAddr.AsSlice())
	must(t, netlink.RouteAdd(&netlink.Route{LinkIndex: host.Attrs().Index, Dst: ipnet(prefix.Masked().Addr(), prefix.Bits()), Gw: gw}))
	for _, a := range extra {
		must(t, netlink.RouteAdd(&netlink.Route{LinkIndex: host.Attrs().Index, Dst: ipnet(a, 32), Gw: gw}))
	}

	for _, a := range append(append([]netip.Addr{}, w.Servers...), extra...) {
		ln, err := w.Listen("tcp", netip.AddrPortFrom(a, 80).String())
		must(t, err)
		srv := &http.Server{Handler: hello(a)}
		go srv.Serve(ln)
		w.closers = append(w.closers, func() { _ = srv.Close() })
	}
	zone := map[string]netip.Addr{}
	for i, n := range names {
		zone[dns.Fqdn(strings.ToLower(n))] = w.Servers[i]
	}
	pc, err := w.ListenPacket("udp", w.DNS)
	must(t, err)
	ds := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(rw dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		for _, qq := range q.Question {
			if a, ok := zone[strings.ToLower(qq.Name)]; ok && qq.Qtype == dns.TypeA {
				m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: qq.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 5}, A: net.IP(a.AsSlice())})
			} else if !ok {
				m.Rcode = dns.RcodeNameError
			}
		}
		_ = rw.WriteMsg(m)
	})}
	go ds.ActivateAndServe()
	w.closers = append(w.closers, func() { _ = ds.Shutdown() })
	return w
}

func hello(a netip.Addr) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		io.WriteString(rw, Hello(a)+"\n"+r.RemoteAddr+"\n"+r.Host+"\n")
	})
}

// Listen opens a listener inside the world.
func (w *World) Listen(network, addr string) (net.Listener, error) {
	var ln net.Listener
	err := Do(w.ns, func() (err error) { ln, err = net.Listen(network, addr); return err })
	return ln, err
}

// ListenPacket opens a packet listener inside the world.
func (w *World) ListenPacket(network, addr string) (net.PacketConn, error) {
	var pc net.PacketConn
	err := Do(w.ns, func() (err error) { pc, err = net.ListenPacket(network, addr); return err })
	return pc, err
}

func (w *World) close() {
	for i := len(w.closers) - 1; i >= 0; i-- {
		w.closers[i]()
	}
}

// Do runs fn on a thread inside namespace ns. Sockets fn opens belong to
// ns and may be used from anywhere afterwards. The thread is discarded.
func Do(ns netns.NsHandle, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		goruntime.LockOSThread() // never unlocked: the thread dies with us
		if err := netns.Set(ns); err != nil {
			errc <- fmt.Errorf("enter namespace: %w", err)
			return
		}
		errc <- fn()
	}()
	return <-errc
}

// DoAt is Do for a namespace given by its path.
func DoAt(path string, fn func() error) error {
	ns, err := netns.GetFromPath(path)
	if err != nil {
		return err
	}
	defer ns.Close()
	return Do(ns, fn)
}

// Get fetches url with a client whose connections are opened inside the
// namespace at nsPath (a sandbox's); the body on success.
func Get(ctx context.Context, nsPath, url string) (string, error) {
	tr := &http.Transport{DisableKeepAlives: true, DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		var c net.Conn
		err := DoAt(nsPath, func() (err error) {
			var d net.Dialer
			c, err = d.DialContext(ctx, network, addr)
			return err
		})
		return c, err
	}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := tr.RoundTrip(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func deleteLink(name string) error {
	l, err := netlink.LinkByName(name)
	if err != nil {
		return err
	}
	return netlink.LinkDel(l)
}

func ipnet(a netip.Addr, bits int) *net.IPNet {
	return &net.IPNet{IP: net.IP(a.AsSlice()), Mask: net.CIDRMask(bits, 32)}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
