package network

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/miekg/dns"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/logx"
)

// forwarder is the DNS resolver sandboxes use. Their queries to port 53
// of their gateway are redirected by nftables to its port, which it
// listens on for UDP and TCP. The shared table drops what reaches that
// port from anything but a sandbox link, and the forwarder answers only
// addresses of the pool, so it is no open resolver for the host's other
// networks; each sandbox address gets dnsRate queries a second (burst
// dnsBurst), past which it is refused, so one sandbox cannot make the
// host flood its upstream.
type forwarder struct {
	port     uint16
	upstream string
	pool     netip.Prefix
	log      *slog.Logger
	servers  []*dns.Server
	udp, tcp *dns.Client
	// onAnswer sees every answer for a sandbox at src before the sandbox
	// does: it records the addresses of allowed domains.
	onAnswer func(src netip.Addr, r *dns.Msg)
	limits   *sourceLimits
}

// Queries a sandbox may send a second, and at once.
const (
	dnsRate  = 100
	dnsBurst = 200
)

// sourceLimits is a token bucket per source address. Sources are pool
// addresses only, so the map is bounded by the pool.
type sourceLimits struct {
	mu      sync.Mutex
	now     func() time.Time
	buckets map[netip.Addr]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

// allow spends one query of src, or says it has none left.
func (l *sourceLimits) allow(src netip.Addr) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b, ok := l.buckets[src]
	if !ok {
		b = &bucket{tokens: dnsBurst, last: now}
		l.buckets[src] = b
	}
	b.tokens = min(dnsBurst, b.tokens+now.Sub(b.last).Seconds()*dnsRate)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

func startForwarder(upstream string, pool netip.Prefix, log *slog.Logger, onAnswer func(netip.Addr, *dns.Msg)) (*forwarder, error) {
	f := &forwarder{
		upstream: upstream, pool: pool, log: log, onAnswer: onAnswer,
		limits: &sourceLimits{now: time.Now, buckets: map[netip.Addr]*bucket{}},
		udp:    &dns.Client{Net: "udp", Timeout: 5 * time.Second},
		tcp:    &dns.Client{Net: "tcp", Timeout: 5 * time.Second},
	}
	// The port is the kernel's pick for UDP, then the same for TCP; a
	// clash on TCP tries again.
	var pc net.PacketConn
	var ln net.Listener
	for try := 0; ; try++ {
		var err error
		if pc, err = net.ListenPacket("udp4", "0.0.0.0:0"); err != nil {
			return nil, fmt.Errorf("dns forwarder: %w", err)
		}
		port := pc.LocalAddr().(*net.UDPAddr).Port
		if ln, err = net.Listen("tcp4", "0.0.0.0:"+strconv.Itoa(port)); err == nil {
			f.port = uint16(port)
			break
		}
		pc.Close()
		if try == 10 {
			return nil, fmt.Errorf("dns forwarder: no port free for both UDP and TCP: %w", err)
		}
	}
	h := dns.HandlerFunc(f.serve)
	f.servers = []*dns.Server{{PacketConn: pc, Handler: h}, {Listener: ln, Handler: h}}
	for _, s := range f.servers {
		started := make(chan struct{})
		s.NotifyStartedFunc = func() { close(started) }
		go func() {
			if err := s.ActivateAndServe(); err != nil {
				log.Error("dns forwarder stopped", logx.Err(err))
			}
		}()
		<-started
	}
	return f, nil
}

func (f *forwarder) close() {
	for _, s := range f.servers {
		_ = s.Shutdown()
	}
}

func (f *forwarder) serve(w dns.ResponseWriter, q *dns.Msg) {
	if !f.fromPool(w.RemoteAddr()) || !f.limits.allow(remoteAddr(w.RemoteAddr())) {
		m := new(dns.Msg)
		m.SetRcode(q, dns.RcodeRefused)
		_ = w.WriteMsg(m)
		return
	}
	c := f.udp
	if _, ok := w.RemoteAddr().(*net.TCPAddr); ok {
		c = f.tcp
	}
	r, _, err := c.Exchange(q, f.upstream)
	if err == nil && r.Truncated && c == f.udp {
		r, _, err = f.tcp.Exchange(q, f.upstream)
	}
	if err != nil {
		f.log.Debug("dns upstream", slog.String("upstream", f.upstream), logx.Err(err))
		m := new(dns.Msg)
		m.SetRcode(q, dns.RcodeServerFailure)
		_ = w.WriteMsg(m)
		return
	}
	r.Id = q.Id
	if f.onAnswer != nil {
		f.onAnswer(remoteAddr(w.RemoteAddr()), r)
	}
	_ = w.WriteMsg(r)
}

// lookup resolves name's IPv4 addresses through the upstream resolver,
// for the egress proxy.
func (f *forwarder) lookup(ctx context.Context, name string) ([]netip.Addr, error) {
	q := new(dns.Msg)
	q.SetQuestion(dns.Fqdn(name), dns.TypeA)
	r, _, err := f.udp.ExchangeContext(ctx, q, f.upstream)
	if err == nil && r.Truncated {
		r, _, err = f.tcp.ExchangeContext(ctx, q, f.upstream)
	}
	if err != nil {
		return nil, err
	}
	addrs, _ := answerAddrs(r)
	return addrs, nil
}

// answerAddrs returns the A records of r and their smallest TTL.
func answerAddrs(r *dns.Msg) ([]netip.Addr, uint32) {
	var out []netip.Addr
	var ttl uint32
	for _, rr := range r.Answer {
		if a, ok := rr.(*dns.A); ok {
			if ip, ok := netip.AddrFromSlice(a.A.To4()); ok {
				out = append(out, ip)
				if ttl == 0 || a.Hdr.Ttl < ttl {
					ttl = a.Hdr.Ttl
				}
			}
		}
	}
	return out, ttl
}

func remoteAddr(a net.Addr) netip.Addr {
	var ip net.IP
	switch a := a.(type) {
	case *net.UDPAddr:
		ip = a.IP
	case *net.TCPAddr:
		ip = a.IP
	}
	addr, _ := netip.AddrFromSlice(ip)
	return addr.Unmap()
}

func (f *forwarder) fromPool(a net.Addr) bool {
	var ip net.IP
	switch a := a.(type) {
	case *net.UDPAddr:
		ip = a.IP
	case *net.TCPAddr:
		ip = a.IP
	}
	addr, ok := netip.AddrFromSlice(ip)
	return ok && f.pool.Contains(addr.Unmap())
}

// resolveUpstream returns the upstream resolver as ip:port: the configured
// one, or the first nameserver of /etc/resolv.conf.
func resolveUpstream(s string) (string, error) {
	if s != "" {
		return upstreamAddr(s)
	}
	cc, err := dns.ClientConfigFromFile("/etc/resolv.conf")
	if err != nil || len(cc.Servers) == 0 {
		return "", fmt.Errorf("no nameserver in /etc/resolv.conf to forward sandbox DNS to; set the upstream resolver: %w", errdefs.ErrFailedPrecondition)
	}
	return upstreamAddr(cc.Servers[0])
}

// upstreamAddr parses "ip" or "ip:port" (port 53 by default).
func upstreamAddr(s string) (string, error) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.String(), nil
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.AddrPortFrom(a, 53).String(), nil
	}
	return "", fmt.Errorf("upstream resolver %q: use an IP address, optionally with :port: %w", s, errdefs.ErrInvalidArgument)
}
