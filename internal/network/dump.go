package network

import (
	"errors"

	"github.com/vishvananda/netlink"
)

// dumpRetries is how many times a netlink dump is made when a concurrent
// change of the host's links, addresses or routes interrupts it.
const dumpRetries = 5

// retryDump makes dump again while the kernel says a concurrent change
// interrupted it, whose results may then be incomplete: another
// sandbox's link coming or going must not fail a listing.
func retryDump[T any](dump func() (T, error)) (T, error) {
	var (
		v   T
		err error
	)
	for range dumpRetries {
		if v, err = dump(); !errors.Is(err, netlink.ErrDumpInterrupted) {
			return v, err
		}
	}
	return v, err
}

func linkList() ([]netlink.Link, error) { return retryDump(netlink.LinkList) }

func addrList(l netlink.Link) ([]netlink.Addr, error) {
	return retryDump(func() ([]netlink.Addr, error) { return netlink.AddrList(l, netlink.FAMILY_V4) })
}

func routeList() ([]netlink.Route, error) {
	return retryDump(func() ([]netlink.Route, error) { return netlink.RouteList(nil, netlink.FAMILY_V4) })
}
