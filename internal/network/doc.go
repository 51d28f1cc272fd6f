// Package network gives sandboxes their network on one node: a network
// namespace per sandbox made by the host (so the sandbox's user namespace
// does not own it and cannot reconfigure it), a veth pair with an address
// from the node's pool and a default route, masquerade NAT out of the
// uplink interface, a DNS forwarder on the host side of every link, and
// an nftables egress policy per sandbox.
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
