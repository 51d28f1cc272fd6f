package api

import (
	"fmt"
	"net/netip"
	"regexp"
	"strings"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/runtime"
)

// networkBody is E2B's SandboxNetworkConfig.
type networkBody struct {
	AllowOut           []string `json:"allowOut"`
	DenyOut            []string `json:"denyOut"`
	AllowPublicTraffic *bool    `json:"allowPublicTraffic"`
	MaskRequestHost    *string  `json:"maskRequestHost"`
}

// domainPattern matches what E2B accepts as a domain entry: a host name,
// optionally behind "*.".
var domainPattern = regexp.MustCompile(`^(\*\.)?([a-zA-Z0-9-]+\.)*[a-zA-Z][a-zA-Z0-9-]*\.?$`)

// networkPolicy turns E2B's allow_internet_access and network into an
// egress policy, naming the first entry that cannot be one.
func networkPolicy(allowInternet *bool, n *networkBody) (runtime.NetworkPolicy, error) {
	var p runtime.NetworkPolicy
	bad := func(format string, args ...any) (runtime.NetworkPolicy, error) {
		return runtime.NetworkPolicy{}, fmt.Errorf(format+": %w", append(args, errdefs.ErrInvalidArgument)...)
	}
	if n != nil {
		if n.AllowPublicTraffic != nil && !*n.AllowPublicTraffic {
			return bad("network.allowPublicTraffic false is not supported yet: every sandbox port is reachable through this server by whoever knows the sandbox's id")
		}
		if n.MaskRequestHost != nil && *n.MaskRequestHost != "" {
			return bad("network.maskRequestHost is not supported yet")
		}
		for _, l := range []struct {
			name string
			in   []string
			out  *[]netip.Prefix
		}{{"allowOut", n.AllowOut, &p.AllowOut}, {"denyOut", n.DenyOut, &p.DenyOut}} {
			if len(l.in) > runtime.MaxNetworkRules {
				return bad("network.%s has %d entries: at most %d", l.name, len(l.in), runtime.MaxNetworkRules)
			}
			for _, e := range l.in {
				pfx, err := parseDestination(e)
				if err == nil {
					*l.out = append(*l.out, pfx)
					continue
				}
				switch {
				case domainPattern.MatchString(e) && l.name == "denyOut":
					return bad("network.denyOut entry %q: deny rules take IPv4 addresses and CIDR blocks, not domains", e)
				case domainPattern.MatchString(e):
					return bad("network.allowOut entry %q: domain rules are not supported yet; use an IPv4 address or CIDR block", e)
				default:
					return bad("network.%s entry %q: %v", l.name, e, err)
				}
			}
		}
	}
	if allowInternet != nil && !*allowInternet {
		// E2B: the same as denyOut 0.0.0.0/0.
		p.DenyOut = append(p.DenyOut, netip.MustParsePrefix("0.0.0.0/0"))
	}
	return p, nil
}

// parseDestination reads an IPv4 address or CIDR block.
func parseDestination(s string) (netip.Prefix, error) {
	var pfx netip.Prefix
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return pfx, fmt.Errorf("not a CIDR block such as 10.0.0.0/8")
		}
		pfx = p
	} else {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return pfx, fmt.Errorf("not an IPv4 address or CIDR block")
		}
		pfx = netip.PrefixFrom(a, a.BitLen())
	}
	if !pfx.Addr().Is4() {
		return pfx, fmt.Errorf("IPv6 is not supported: sandboxes have IPv4 only")
	}
	return pfx.Masked(), nil
}
