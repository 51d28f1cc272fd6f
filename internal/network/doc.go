// Package network gives sandboxes their network on one node: in each
// sandbox's network namespace (the runtime's, configured from the host
// before the sandbox runs anything), a veth pair with an address from the
// node's pool and a default route, masquerade NAT out of the uplink
// interface, a DNS forwarder on the host side of every link, and an
// nftables egress policy per sandbox. Root in a sandbox cannot change any
// of it: CAP_NET_ADMIN is not in its bounding set and it cannot make a
// user namespace of its own.
//
// Everything a sandbox owns is found again from the kernel after a crash,
// so no state file can disagree with it:
//
//	<NetnsDir>/<id>               the bind-mounted network namespace
//	link sb<tag>-<slot>           the host side of the veth pair, alias
//	                              "soulbox:<id>"; its /30 is the lease
//	table ip sb-<tag>-<id>        the sandbox's egress policy
//	table ip soulbox-<tag>        shared: NAT, DNS redirect, the blocks
//	                              every sandbox gets whatever its policy
//
// <tag> separates the managers of several servers on one host.
package network
