// Package fakenet builds an "internet" for tests in a network namespace
// of its own, so that tests of sandbox networking never send a packet
// off the machine: a veth from the host (the uplink the server is told
// to use), HTTP servers on addresses the host routes to it, and a DNS
// server that knows their names; each server address also speaks HTTPS
// with a certificate of a CA made for the world, and has TCP echo, sink
// and source services.
package fakenet

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/netip"
	goruntime "runtime"
	"strings"
	"testing"
	"time"

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
	// CAs trusts the certificate of the HTTPS server every address of
	// Servers has on port 443, valid for every name given to New.
	CAs *x509.CertPool
	// CACertPEM is the PEM of the certificate in CAs.
	CACertPEM []byte

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
	w.serveTLS(t, names)
	for _, a := range w.Servers {
		w.serveTCP(t, netip.AddrPortFrom(a, EchoPort), func(c net.Conn) { _, _ = io.Copy(c, c) })
		w.serveTCP(t, netip.AddrPortFrom(a, SinkPort), sink)
		w.serveTCP(t, netip.AddrPortFrom(a, SourcePort), source)
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

// Ports of the TCP services of every address of Servers.
const (
	// EchoPort sends back what it receives.
	EchoPort = 7
	// SinkPort reads until the client half-closes, then answers the
	// number of bytes it read, in decimal.
	SinkPort = 9
	// SourcePort reads a decimal count and a newline, then sends that
	// many bytes and closes.
	SourcePort = 19
)

func sink(c net.Conn) {
	n, _ := io.Copy(io.Discard, c)
	fmt.Fprintf(c, "%d\n", n)
}

func source(c net.Conn) {
	var n int64
	if _, err := fmt.Fscanf(c, "%d\n", &n); err != nil {
		return
	}
	_, _ = io.CopyN(c, zeros{}, n)
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func (w *World) serveTCP(t testing.TB, at netip.AddrPort, fn func(net.Conn)) {
	ln, err := w.Listen("tcp", at.String())
	must(t, err)
	w.closers = append(w.closers, func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				fn(c)
			}()
		}
	}()
}

// serveTLS starts the HTTPS servers, with a certificate for names signed
// by a CA made for this world.
func (w *World) serveTLS(t testing.TB, names []string) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(t, err)
	ca := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "fakenet test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	must(t, err)
	ca, err = x509.ParseCertificate(caDER)
	must(t, err)
	w.CAs = x509.NewCertPool()
	w.CAs.AddCert(ca)
	w.CACertPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(t, err)
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "fakenet"}, DNSNames: names,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, a := range w.Servers {
		leaf.IPAddresses = append(leaf.IPAddresses, net.IP(a.AsSlice()))
	}
	der, err := x509.CreateCertificate(rand.Reader, leaf, ca, &key.PublicKey, caKey)
	must(t, err)
	cert := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	for _, a := range w.Servers {
		ln, err := w.Listen("tcp", netip.AddrPortFrom(a, 443).String())
		must(t, err)
		srv := &http.Server{Handler: hello(a), TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}}
		go srv.ServeTLS(ln, "", "")
		w.closers = append(w.closers, func() { _ = srv.Close() })
	}
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

// Dial connects from inside the world.
func (w *World) Dial(network, addr string) (net.Conn, error) {
	var c net.Conn
	err := Do(w.ns, func() (err error) { c, err = net.DialTimeout(network, addr, time.Second); return err })
	return c, err
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
