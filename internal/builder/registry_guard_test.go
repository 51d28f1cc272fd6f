package builder

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"net/url"
	"testing"
)

// Through a proxy, the registry's own address is what is checked: the
// proxy would otherwise reach a private registry on the build's behalf.
func TestGuardChecksTheRegistryBehindAProxy(t *testing.T) {
	old := proxyFor
	defer func() { proxyFor = old }()
	proxy, _ := url.Parse("http://192.0.2.10:3128")
	proxyFor = func(*http.Request) (*url.URL, error) { return proxy, nil }

	n := &Node{}
	tr := n.guardedTransport().(*http.Transport)
	for _, target := range []string{"http://127.0.0.1:5000/v2/", "http://localhost:5000/v2/", "http://10.1.2.3/v2/"} {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, target, nil)
		if _, err := tr.Proxy(req); !errors.Is(err, errPrivateRegistry) {
			t.Errorf("%s through a proxy: %v, want refused", target, err)
		}
	}
	if n.allowed(netip.MustParseAddr("fe80::1%eth0")) {
		t.Error("a zoned link-local address is allowed")
	}
	n.allowNets = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, "http://10.1.2.3/v2/", nil)
	if u, err := n.guardedTransport().(*http.Transport).Proxy(req); err != nil || u != proxy {
		t.Errorf("an allowed range through a proxy: %v, %v", u, err)
	}
	for a, private := range map[string]bool{"8.8.8.8": false, "198.19.0.1": true, "169.254.169.254": true,
		"::ffff:127.0.0.1": true, "fd00::1": true, "2001:4860::1": false, "100.64.1.1": true,
		// A zone hides an address from netip.Prefix.Contains; NAT64 and
		// 6to4 carry an IPv4 address the host may route to.
		"fe80::1%eth0": true, "fe80::1%1": true, "::1%lo": true, "fd00::1%eth0": true,
		"64:ff9b::7f00:1": true, "64:ff9b::a00:1": true, "64:ff9b:1::1": true, "2002:7f00:1::1": true,
		"2002:c0a8:101::1": true} {
		if got := privateAddr(netip.MustParseAddr(a)); got != private {
			t.Errorf("privateAddr(%s) = %v", a, got)
		}
	}
}
