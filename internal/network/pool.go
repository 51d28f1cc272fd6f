package network

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/vishvananda/netlink"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// addrPool hands out /30 slots of a prefix: slot n is the link whose host
// side is the first usable address of the n-th /30 and whose sandbox side
// is the second. Slot 0 is never used, so that the pool's network address
// never names a link. The caller holds the manager's lock.
type addrPool struct {
	prefix netip.Prefix
	used   map[int]string // slot -> sandbox id
	next   int
}

func newAddrPool(p netip.Prefix) *addrPool {
	return &addrPool{prefix: p, used: map[int]string{}, next: 1}
}

func (p *addrPool) size() int { return 1 << (32 - p.prefix.Bits() - 2) }

// take reserves a free slot for id.
func (p *addrPool) take(id string) (int, error) {
	n := p.size()
	for i := 0; i < n; i++ {
		s := (p.next + i) % n
		if s == 0 {
			continue
		}
		if _, ok := p.used[s]; !ok {
			p.used[s] = id
			p.next = s + 1
			return s, nil
		}
	}
	return 0, fmt.Errorf("network pool %s has no free address for another sandbox: %w", p.prefix, errdefs.ErrResourceExhausted)
}

func (p *addrPool) release(slot int) { delete(p.used, slot) }

// slotOf returns the slot in use whose sandbox side is a.
func (p *addrPool) slotOf(a netip.Addr) (int, bool) {
	if !p.prefix.Contains(a) {
		return 0, false
	}
	off := a.As4()
	base := p.prefix.Addr().As4()
	v := (uint32(off[0])<<24 | uint32(off[1])<<16 | uint32(off[2])<<8 | uint32(off[3])) -
		(uint32(base[0])<<24 | uint32(base[1])<<16 | uint32(base[2])<<8 | uint32(base[3]))
	if v%4 != 2 {
		return 0, false
	}
	slot := int(v / 4)
	_, ok := p.used[slot]
	return slot, ok
}

// addrs returns the host-side and sandbox-side addresses of a slot.
func (p *addrPool) addrs(slot int) (host, sandbox netip.Addr) {
	b := p.prefix.Addr().As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	v += uint32(slot) * 4
	h := netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v + 1)})
	s := netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v + 2)})
	return h, s
}

// linkName is the host-side interface of a slot; it fits IFNAMSIZ for
// any tag and pool.
func linkName(tag string, slot int) string {
	return "sb" + tag + "-" + strconv.FormatInt(int64(slot), 36)
}

// linkSlot parses a name made by linkName for tag.
func linkSlot(tag, name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, "sb"+tag+"-")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(rest, 36, 32)
	return int(n), err == nil
}

// aliasPrefix starts the alias of every host-side link: the id follows.
const aliasPrefix = "soulbox:"

// checkRoutes fails if a host route not on one of our own links overlaps
// the pool: traffic to such addresses would go to a sandbox instead.
func checkRoutes(pool netip.Prefix, ours func(name string) bool) error {
	routes, err := retryDump(func() ([]netlink.Route, error) {
		return netlink.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Table: 0}, netlink.RT_FILTER_TABLE)
	})
	if err != nil {
		return fmt.Errorf("list host routes: %w", err)
	}
	for _, r := range routes {
		if r.Dst == nil {
			continue // the default route overlaps everything by design
		}
		if r.Table != 254 && r.Table != 255 { // main and local
			continue
		}
		dst, ok := netip.AddrFromSlice(r.Dst.IP)
		if !ok {
			continue
		}
		ones, _ := r.Dst.Mask.Size()
		rp := netip.PrefixFrom(dst.Unmap(), ones)
		if rp.Bits() == 0 || !rp.Overlaps(pool) {
			continue
		}
		if l, err := netlink.LinkByIndex(r.LinkIndex); err == nil && ours(l.Attrs().Name) {
			continue
		}
		return fmt.Errorf("network pool %s overlaps the host route %s; choose another pool: %w", pool, rp, errdefs.ErrFailedPrecondition)
	}
	return nil
}

// poolInUse returns the default pool the addresses of this server's own
// links (a previous run's sandboxes) come from. A restarted server must
// take the same pool again: its adopted sandboxes keep their addresses,
// while the first free default pool may since have gone to another
// server.
func poolInUse(ours func(name string) bool) (netip.Prefix, bool) {
	links, err := linkList()
	if err != nil {
		return netip.Prefix{}, false
	}
	for _, l := range links {
		if !ours(l.Attrs().Name) {
			continue
		}
		addrs, err := addrList(l)
		if err != nil {
			continue
		}
		for _, a := range addrs {
			ip, ok := netip.AddrFromSlice(a.IP)
			if !ok {
				continue
			}
			for _, p := range DefaultPools {
				if p.Contains(ip.Unmap()) {
					return p, true
				}
			}
		}
	}
	return netip.Prefix{}, false
}
