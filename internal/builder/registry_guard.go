package builder

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// errPrivateRegistry is a pull refused because the registry's address is
// on a private network.
var errPrivateRegistry = errors.New("the registry's address is private")

// privateNets are the ranges a registry a build names may not be at unless
// the configuration allows them: the host's own, its local networks and
// ranges reserved for special use, which a build must not reach through
// the server (SSRF).
var privateNets = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("127.0.0.0/8"),
	netip.MustParsePrefix("169.254.0.0/16"),
	netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("192.168.0.0/16"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("224.0.0.0/3"), // multicast and reserved, broadcast
	netip.MustParsePrefix("::/128"),
	netip.MustParsePrefix("::1/128"),
	netip.MustParsePrefix("64:ff9b::/96"),   // NAT64: an IPv4 address behind a translator
	netip.MustParsePrefix("64:ff9b:1::/48"), // local-use NAT64
	netip.MustParsePrefix("2002::/16"),      // 6to4: an IPv4 address inside
	netip.MustParsePrefix("fc00::/7"),
	netip.MustParsePrefix("fe80::/10"),
	netip.MustParsePrefix("ff00::/8"),
}

// privateAddr reports whether a is in a private or special range. A
// zoned address (fe80::1%eth0) is compared without its zone: a prefix
// never contains a zoned address, so it would otherwise pass as public.
func privateAddr(a netip.Addr) bool {
	a = a.WithZone("").Unmap()
	if !a.IsValid() {
		return true
	}
	for _, p := range privateNets {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// allowed reports whether a registry at a may be pulled from: a public
// address, or one in the nets the configuration allows.
func (n *Node) allowed(a netip.Addr) bool {
	a = a.WithZone("").Unmap()
	if !privateAddr(a) {
		return true
	}
	for _, p := range n.allowNets {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// guardedTransport is the HTTP transport for registries a build names:
// every connection (redirects to blob storage included) is checked when
// it is made, after name resolution, so a name that resolves to a private
// address is refused however it is reached.
func (n *Node) guardedTransport() http.RoundTripper {
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second,
		Control: func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("registry address %q: %w", address, errPrivateRegistry)
			}
			if !n.allowed(ap.Addr()) {
				return fmt.Errorf("registry address %s: %w", ap.Addr(), errPrivateRegistry)
			}
			return nil
		}}
	tr := remote.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = d.DialContext
	// Through a proxy the dialer sees only the proxy's address (which
	// must itself be public or allowed): the registry's host is resolved
	// and checked here before the proxy is asked to reach it.
	tr.Proxy = func(req *http.Request) (*url.URL, error) {
		u, err := proxyFor(req)
		if u == nil || err != nil {
			return u, err
		}
		addrs, err := net.DefaultResolver.LookupNetIP(req.Context(), "ip", req.URL.Hostname())
		if err != nil {
			return nil, err
		}
		for _, a := range addrs {
			if !n.allowed(a) {
				return nil, fmt.Errorf("registry address %s: %w", a, errPrivateRegistry)
			}
		}
		return u, nil
	}
	return tr
}

// proxyFor is the HTTP proxy of a request, as the environment says.
var proxyFor = http.ProxyFromEnvironment

// pullError is what a build reports of a failed pull: the image and the
// kind of failure. The registry's own words are logged, not passed on:
// they can carry what a private service answered.
func (n *Node) pullError(ctx context.Context, image, what string, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	n.log.Warn("image pull failed", "image", image, "step", what, "error", err)
	var te *transport.Error
	var ne net.Error
	switch {
	case errors.Is(err, errPrivateRegistry):
		return fmt.Errorf("pull image %q: %s: the registry is at a private or reserved address, which builds may not reach unless the server's configuration allows it: %w",
			image, what, errdefs.ErrInvalidArgument)
	case errors.As(err, &te) && (te.StatusCode == http.StatusUnauthorized || te.StatusCode == http.StatusForbidden):
		return fmt.Errorf("pull image %q: %s: the registry refused the credentials (unauthorized); check fromImageRegistry's username and password: %w",
			image, what, errdefs.ErrInvalidArgument)
	case errors.As(err, &te) && te.StatusCode == http.StatusNotFound:
		return fmt.Errorf("pull image %q: %s: the registry has no such image or tag: %w", image, what, errdefs.ErrInvalidArgument)
	case errors.As(err, &te):
		return fmt.Errorf("pull image %q: %s: the registry answered with HTTP status %d: %w", image, what, te.StatusCode, errdefs.ErrInvalidArgument)
	case errors.As(err, &ne):
		return fmt.Errorf("pull image %q: %s: the registry could not be reached: %w", image, what, errdefs.ErrInvalidArgument)
	default:
		return fmt.Errorf("pull image %q: %s: the registry's answer could not be used: %w", image, what, errdefs.ErrInvalidArgument)
	}
}
