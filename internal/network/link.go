package network

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// sandboxLink is the name of the sandbox's side of its veth pair.
const sandboxLink = "eth0"

// makeLink creates the veth pair of a sandbox: name on the host with the
// gateway address and the alias that names the sandbox, eth0 in the
// sandbox's namespace with its address and a default route.
func makeLink(a Attachment, name, id string) error {
	ns, err := netns.GetFromPath(a.NetnsPath)
	if err != nil {
		return fmt.Errorf("open network namespace: %w", err)
	}
	defer ns.Close()
	la := netlink.NewLinkAttrs()
	la.Name = name
	veth := &netlink.Veth{LinkAttrs: la, PeerName: sandboxLink, PeerNamespace: netlink.NsFd(int(ns))}
	if err := netlink.LinkAdd(veth); err != nil {
		return fmt.Errorf("create veth %s: %w", name, err)
	}
	host, err := netlink.LinkByName(name)
	if err != nil {
		return fmt.Errorf("find veth %s: %w", name, err)
	}
	if err := netlink.LinkSetAlias(host, aliasPrefix+id); err != nil {
		return fmt.Errorf("name veth %s: %w", name, err)
	}
	if err := netlink.AddrAdd(host, &netlink.Addr{IPNet: ipnet(a.Gateway, 30)}); err != nil {
		return fmt.Errorf("address veth %s: %w", name, err)
	}
	if err := netlink.LinkSetUp(host); err != nil {
		return fmt.Errorf("bring up veth %s: %w", name, err)
	}
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		return fmt.Errorf("netlink in the sandbox's namespace: %w", err)
	}
	defer h.Close()
	lo, err := h.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("find loopback: %w", err)
	}
	if err := h.LinkSetUp(lo); err != nil {
		return fmt.Errorf("bring up loopback: %w", err)
	}
	peer, err := h.LinkByName(sandboxLink)
	if err != nil {
		return fmt.Errorf("find %s: %w", sandboxLink, err)
	}
	if err := h.AddrAdd(peer, &netlink.Addr{IPNet: ipnet(a.Address, 30)}); err != nil {
		return fmt.Errorf("address %s: %w", sandboxLink, err)
	}
	if err := h.LinkSetUp(peer); err != nil {
		return fmt.Errorf("bring up %s: %w", sandboxLink, err)
	}
	gw := net.IP(a.Gateway.AsSlice())
	if err := h.RouteAdd(&netlink.Route{LinkIndex: peer.Attrs().Index, Gw: gw}); err != nil {
		return fmt.Errorf("default route: %w", err)
	}
	return nil
}

func ipnet(a netip.Addr, bits int) *net.IPNet {
	return &net.IPNet{IP: net.IP(a.AsSlice()), Mask: net.CIDRMask(bits, 32)}
}
