package network

import (
	"errors"
	"fmt"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/soulbox/soulbox/internal/runtime"
)

// shapeBurst is the token bucket of a bandwidth cap, in bytes per Mbit/s
// of rate (at least 64 KiB): large enough that a TCP sender at the cap
// keeps it busy, small enough that a burst stays short.
const shapeBurst = 4 << 10

// applyLimits sets the sandbox's bandwidth caps as token bucket filters
// (tbf) on the two ends of its link: what the sandbox sends is shaped on
// its eth0, where TCP feels the queue and slows down instead of losing
// packets; what it receives on the host side. A zero cap removes the
// filter. Both go with the link, so a removed link leaves no qdisc.
func applyLimits(hostLink, netnsPath string, l runtime.NetworkLimits) error {
	host, err := netlink.LinkByName(hostLink)
	if err != nil {
		return fmt.Errorf("find %s: %w", hostLink, err)
	}
	if err := setTbf(&netlink.Handle{}, host, l.IngressMbps); err != nil {
		return fmt.Errorf("ingress cap on %s: %w", hostLink, err)
	}
	ns, err := netns.GetFromPath(netnsPath)
	if err != nil {
		return fmt.Errorf("open network namespace: %w", err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		return fmt.Errorf("netlink in the sandbox's namespace: %w", err)
	}
	defer h.Close()
	peer, err := h.LinkByName(sandboxLink)
	if err != nil {
		return fmt.Errorf("find %s: %w", sandboxLink, err)
	}
	if err := setTbf(h, peer, l.EgressMbps); err != nil {
		return fmt.Errorf("egress cap on the sandbox's %s: %w", sandboxLink, err)
	}
	return nil
}

// setTbf replaces the root qdisc of link with a tbf of mbps, or removes
// it for 0.
func setTbf(h *netlink.Handle, link netlink.Link, mbps int) error {
	attrs := netlink.QdiscAttrs{LinkIndex: link.Attrs().Index, Handle: netlink.MakeHandle(1, 0), Parent: netlink.HANDLE_ROOT}
	if mbps == 0 {
		err := h.QdiscDel(&netlink.Tbf{QdiscAttrs: attrs})
		if err != nil && !errors.Is(err, unix.ENOENT) && !errors.Is(err, unix.EINVAL) {
			return err
		}
		return nil
	}
	rate := uint64(mbps) * 125000 // bytes per second
	burst := uint32(max(mbps*shapeBurst, 64<<10))
	q := &netlink.Tbf{QdiscAttrs: attrs, Rate: rate, Limit: burst * 2, Buffer: netlink.Xmittime(rate, burst)}
	return h.QdiscReplace(q)
}
