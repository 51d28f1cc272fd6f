package network

import (
	"fmt"
	"hash/fnv"
	"log/slog"
	"net/netip"
	"regexp"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// Config configures a Manager. Zero fields take working defaults.
type Config struct {
	// Pool is the IPv4 range sandbox links are cut from, one /30 per
	// sandbox. Zero picks the first of DefaultPools that no host route
	// overlaps. A pool that overlaps a host route is refused at start.
	Pool netip.Prefix
	// Uplink is the interface sandbox traffic leaves the host by, with
	// masquerade NAT; empty means the interface of the default route.
	Uplink string
	// PrivateOut lets sandboxes reach private IPv4 ranges (RFC 1918,
	// CGNAT, benchmarking) through the uplink without their AllowOut
	// naming them. False, the default, keeps them on the internet and off
	// the operator's networks.
	PrivateOut bool
	// Upstream is the resolver ("ip" or "ip:port") the DNS forwarder asks;
	// empty means the first nameserver of /etc/resolv.conf.
	Upstream string
	// NetnsDir holds the sandboxes' bind-mounted network namespaces;
	// default /run/soulbox/netns-<Tag>.
	NetnsDir string
	// Tag names this manager's kernel objects (links, nftables tables) so
	// that several servers on one host leave each other's alone: 1-6
	// lowercase letters or digits. Default: derived from NetnsDir, else
	// "0".
	Tag string
	// Log receives the manager's logs.
	Log *slog.Logger
}

// DefaultPools are the ranges tried, in order, when Config.Pool is zero:
// 10.200.0.0/16 to 10.254.0.0/16, so that several servers on one host
// and the host's own networks each find one free.
var DefaultPools = func() []netip.Prefix {
	var out []netip.Prefix
	for b := 200; b <= 254; b++ {
		out = append(out, netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(b), 0, 0}), 16))
	}
	return out
}()

var tagPattern = regexp.MustCompile(`^[a-z0-9]{1,6}$`)

// TagFor derives a manager tag from a string that identifies a server on
// its host, such as its data directory.
func TagFor(s string) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(s))
	return fmt.Sprintf("%06x", h.Sum32()&0xffffff)
}

func (c Config) withDefaults() Config {
	if c.Tag == "" {
		c.Tag = "0"
		if c.NetnsDir != "" {
			c.Tag = TagFor(c.NetnsDir)
		}
	}
	if c.NetnsDir == "" {
		c.NetnsDir = "/run/soulbox/netns-" + c.Tag
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	return c
}

// Validate checks the fields that can be checked without the host.
func (c Config) Validate() error {
	if c.Tag != "" && !tagPattern.MatchString(c.Tag) {
		return fmt.Errorf("network tag %q: use 1-6 lowercase letters or digits: %w", c.Tag, errdefs.ErrInvalidArgument)
	}
	if c.Pool.IsValid() {
		if !c.Pool.Addr().Is4() {
			return fmt.Errorf("network pool %s: only IPv4 pools are supported: %w", c.Pool, errdefs.ErrInvalidArgument)
		}
		if c.Pool.Bits() > 29 || c.Pool.Bits() < 8 {
			return fmt.Errorf("network pool %s: use a prefix length from /8 to /29 (each sandbox takes a /30): %w", c.Pool, errdefs.ErrInvalidArgument)
		}
		if c.Pool.Masked() != c.Pool {
			return fmt.Errorf("network pool %s: host bits are set; did you mean %s: %w", c.Pool, c.Pool.Masked(), errdefs.ErrInvalidArgument)
		}
	}
	if c.Upstream != "" {
		if _, err := upstreamAddr(c.Upstream); err != nil {
			return err
		}
	}
	return nil
}
