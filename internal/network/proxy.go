package network

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/soulbox/soulbox/internal/logx"
	"github.com/soulbox/soulbox/internal/runtime"
)

// peekTimeout bounds how long the proxy waits for a request's Host header
// or a TLS ClientHello; maxPeek bounds how much of it it reads.
const (
	peekTimeout = 10 * time.Second
	maxPeek     = 16 << 10
	dialTimeout = 10 * time.Second
)

// egressProxy is the transparent proxy that decides domain rules. The
// connections to ports 80 and 443 of a sandbox whose policy filters
// domains are redirected by nftables to its two listeners; it reads the
// Host header (port 80) or the TLS server name (443) without terminating
// anything, checks the sandbox's policy, dials the destination and
// splices the two connections. What it read is sent on unchanged.
type egressProxy struct {
	http, tls net.Listener
	// policyOf returns the policy of the sandbox with address src.
	policyOf func(src netip.Addr) (id string, p runtime.NetworkPolicy, ok bool)
	resolve  func(ctx context.Context, name string) ([]netip.Addr, error)
	pool     netip.Prefix
	// uplink is the only interface the proxy dials out of, as forwarded
	// sandbox traffic; privateOut, whether private ranges are open to
	// addresses no rule names.
	uplink     string
	privateOut bool
	log        *slog.Logger

	mu     sync.Mutex
	conns  map[net.Conn]string // -> the sandbox's id
	closed bool
	wg     sync.WaitGroup
}

func startProxy(pool netip.Prefix, uplink string, privateOut bool, log *slog.Logger, policyOf func(netip.Addr) (string, runtime.NetworkPolicy, bool),
	resolve func(context.Context, string) ([]netip.Addr, error)) (*egressProxy, error) {
	p := &egressProxy{policyOf: policyOf, resolve: resolve, pool: pool, uplink: uplink, privateOut: privateOut, log: log, conns: map[net.Conn]string{}}
	var err error
	if p.http, err = net.Listen("tcp4", "0.0.0.0:0"); err != nil {
		return nil, fmt.Errorf("egress proxy: %w", err)
	}
	if p.tls, err = net.Listen("tcp4", "0.0.0.0:0"); err != nil {
		p.http.Close()
		return nil, fmt.Errorf("egress proxy: %w", err)
	}
	for _, l := range []struct {
		ln   net.Listener
		peek func(*bufio.Reader) (string, error)
	}{{p.http, peekHost}, {p.tls, peekServerName}} {
		p.wg.Add(1)
		go p.serve(l.ln, l.peek)
	}
	return p, nil
}

func (p *egressProxy) httpPort() uint16 { return uint16(p.http.Addr().(*net.TCPAddr).Port) }
func (p *egressProxy) tlsPort() uint16  { return uint16(p.tls.Addr().(*net.TCPAddr).Port) }

// close stops the listeners and cuts every proxied connection.
func (p *egressProxy) close() {
	p.http.Close()
	p.tls.Close()
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// active counts the connections the proxy holds for sandbox id, both
// sides, for leak checks.
func (p *egressProxy) active(id string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, a := range p.conns {
		if a == id {
			n++
		}
	}
	return n
}

// cut closes every connection of sandbox id.
func (p *egressProxy) cut(id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c, a := range p.conns {
		if a == id {
			c.Close()
			delete(p.conns, c)
		}
	}
}

func (p *egressProxy) track(c net.Conn, id string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.conns[c] = id
	return true
}

func (p *egressProxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	c.Close()
}

func (p *egressProxy) serve(ln net.Listener, peek func(*bufio.Reader) (string, error)) {
	defer p.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				p.log.Error("egress proxy stopped", logx.Err(err))
			}
			return
		}
		src, _ := netip.ParseAddrPort(c.RemoteAddr().String())
		id, pol, ok := p.policyOf(src.Addr().Unmap())
		if !ok || !p.track(c, id) {
			c.Close()
			continue
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			defer p.untrack(c)
			p.handle(c.(*net.TCPConn), id, pol, peek)
		}()
	}
}

func (p *egressProxy) handle(c *net.TCPConn, id string, pol runtime.NetworkPolicy, peek func(*bufio.Reader) (string, error)) {
	dst, err := originalDst(c)
	if err != nil {
		p.log.Debug("egress proxy: original destination", logx.Sandbox(id), logx.Err(err))
		return
	}
	if p.alwaysBlocked(dst.Addr()) {
		return
	}
	// What is peeked is kept in the reader and sent on as it came.
	_ = c.SetReadDeadline(time.Now().Add(peekTimeout))
	br := bufio.NewReaderSize(c, maxPeek)
	name, _ := peek(br)
	_ = c.SetReadDeadline(time.Time{})

	target := dst
	switch {
	case name != "" && pol.AllowsName(name):
		// Dial what the name resolves to, so a name cannot open an
		// address it does not have; the original destination when it is
		// one of them.
		addrs, err := p.resolve(context.Background(), name)
		if err != nil || len(addrs) == 0 {
			p.log.Debug("egress proxy: resolve", logx.Sandbox(id), slog.String("name", name), logx.Err(err))
			return
		}
		target = netip.AddrPortFrom(addrs[0], dst.Port())
		for _, a := range addrs {
			if a == dst.Addr() {
				target = dst
			}
		}
		if p.alwaysBlocked(target.Addr()) {
			return
		}
	case prefixesContain(pol.AllowOut, dst.Addr()):
	case prefixesContain(pol.DenyOut, dst.Addr()), !p.privateOut && prefixesContain(privateRanges, dst.Addr()):
		p.log.Debug("egress proxy: refused", logx.Sandbox(id), slog.String("name", name), slog.String("dst", dst.String()))
		return
	}
	d := net.Dialer{Timeout: dialTimeout}
	up, err := d.Dial("tcp4", target.String())
	if err != nil {
		return
	}
	if !p.track(up, id) {
		up.Close()
		return
	}
	defer p.untrack(up)
	splice(c, br, up.(*net.TCPConn))
}

// alwaysBlocked is what no policy opens: the pool (other sandboxes),
// link-local addresses, the host's own addresses and whatever is not
// routed out of the uplink.
func (p *egressProxy) alwaysBlocked(a netip.Addr) bool {
	if !a.Is4() || p.pool.Contains(a) || metadataRange.Contains(a) || a.IsLoopback() || a.IsUnspecified() || a.IsMulticast() {
		return true
	}
	routes, err := netlink.RouteGet(net.IP(a.AsSlice()))
	if err != nil {
		return true
	}
	for _, r := range routes {
		if r.Type == unix.RTN_LOCAL || r.Type == unix.RTN_BROADCAST {
			return true
		}
		if l, err := netlink.LinkByIndex(r.LinkIndex); err != nil || l.Attrs().Name != p.uplink {
			return true
		}
	}
	return false
}

func prefixesContain(ps []netip.Prefix, a netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// splice copies both ways until both directions are done; a direction
// that ends half-closes the other side.
func splice(c *net.TCPConn, br *bufio.Reader, up *net.TCPConn) {
	done := make(chan struct{}, 2)
	go func() {
		_, _ = br.WriteTo(up)
		_ = up.CloseWrite()
		done <- struct{}{}
	}()
	go func() {
		_, _ = io.Copy(c, up)
		_ = c.CloseWrite()
		done <- struct{}{}
	}()
	<-done
	<-done
}

// originalDst is where the sandbox meant a redirected connection to go.
func originalDst(c *net.TCPConn) (netip.AddrPort, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return netip.AddrPort{}, err
	}
	var ap netip.AddrPort
	var serr error
	err = rc.Control(func(fd uintptr) {
		// SO_ORIGINAL_DST answers a sockaddr_in in the bytes of an
		// IPv6 mreq.
		mreq, err := unix.GetsockoptIPv6Mreq(int(fd), unix.SOL_IP, unix.SO_ORIGINAL_DST)
		if err != nil {
			serr = err
			return
		}
		b := mreq.Multiaddr
		port := uint16(b[2])<<8 | uint16(b[3])
		ap = netip.AddrPortFrom(netip.AddrFrom4([4]byte{b[4], b[5], b[6], b[7]}), port)
	})
	if err == nil {
		err = serr
	}
	if err != nil {
		return ap, fmt.Errorf("SO_ORIGINAL_DST: %w", err)
	}
	return ap, nil
}

// peekHost reads an HTTP request's head from br, leaving it buffered, and
// returns its Host without a port.
func peekHost(br *bufio.Reader) (string, error) {
	n := 1
	for {
		b, err := br.Peek(n)
		if err != nil {
			return "", err
		}
		b, _ = br.Peek(br.Buffered())
		if i := bytes.Index(b, []byte("\r\n\r\n")); i >= 0 {
			req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(b[:i+4])))
			if err != nil {
				return "", err
			}
			return hostOnly(req.Host), nil
		}
		if len(b) >= maxPeek {
			return "", fmt.Errorf("no HTTP request head in the first %d bytes", maxPeek)
		}
		n = len(b) + 1
	}
}

func hostOnly(h string) string {
	if host, _, err := net.SplitHostPort(h); err == nil {
		return host
	}
	return h
}

// peekServerName reads a TLS ClientHello from br, leaving it buffered, and
// returns its server name. crypto/tls parses the hello from a copy of the
// bytes and the handshake is abandoned there.
func peekServerName(br *bufio.Reader) (string, error) {
	hdr, err := br.Peek(5)
	if err != nil {
		return "", err
	}
	if hdr[0] != 0x16 { // handshake record
		return "", fmt.Errorf("not a TLS handshake")
	}
	n := 5 + (int(hdr[3])<<8 | int(hdr[4]))
	if n > maxPeek {
		return "", fmt.Errorf("TLS record of %d bytes", n)
	}
	rec, err := br.Peek(n)
	if err != nil {
		return "", err
	}
	var name string
	errStop := errors.New("stop")
	srv := tls.Server(readOnlyConn{r: bytes.NewReader(rec)}, &tls.Config{
		GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) {
			name = h.ServerName
			return nil, errStop
		},
	})
	_ = srv.Handshake()
	if name == "" {
		return "", fmt.Errorf("no server name in the ClientHello")
	}
	return name, nil
}

// readOnlyConn is a net.Conn that reads from r and discards writes.
type readOnlyConn struct{ r io.Reader }

func (c readOnlyConn) Read(p []byte) (int, error)     { return c.r.Read(p) }
func (readOnlyConn) Write(p []byte) (int, error)      { return 0, io.ErrClosedPipe }
func (readOnlyConn) Close() error                     { return nil }
func (readOnlyConn) LocalAddr() net.Addr              { return nil }
func (readOnlyConn) RemoteAddr() net.Addr             { return nil }
func (readOnlyConn) SetDeadline(time.Time) error      { return nil }
func (readOnlyConn) SetReadDeadline(time.Time) error  { return nil }
func (readOnlyConn) SetWriteDeadline(time.Time) error { return nil }
