package network

import (
	"fmt"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"

	"github.com/soulbox/soulbox/internal/runtime"
)

// metadataRange is link-local IPv4, where clouds serve instance metadata
// and credentials: never reachable from a sandbox.
var metadataRange = netip.MustParsePrefix("169.254.0.0/16")

// privateRanges are the IPv4 ranges of an operator's own networks
// (RFC 1918, shared CGNAT space RFC 6598, benchmarking RFC 2544), which
// sandboxes do not reach through the uplink unless a policy's AllowOut
// names them or Config.PrivateOut allows them all: like E2B's, they
// reach the internet, not the host's LAN.
var privateRanges = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.168.0.0/16"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("198.18.0.0/15"),
}

func sharedTableName(tag string) string      { return "soulbox-" + tag }
func sandboxTablePrefix(tag string) string   { return "sb-" + tag + "-" }
func sandboxTableName(tag, id string) string { return sandboxTablePrefix(tag) + id }

// ifname pads an interface name as the kernel stores it, for an exact
// match.
func ifname(n string) []byte {
	b := make([]byte, unix.IFNAMSIZ)
	copy(b, n)
	return b
}

func cmpIf(key expr.MetaKey, op expr.CmpOp, data []byte) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: key, Register: 1},
		&expr.Cmp{Op: op, Register: 1, Data: data},
	}
}

// daddrIn matches an IPv4 destination (or source, offset 12) in p.
func addrIn(offset uint32, p netip.Prefix) []expr.Any {
	mask := make([]byte, 4)
	for i := 0; i < p.Bits(); i++ {
		mask[i/8] |= 0x80 >> (i % 8)
	}
	net := p.Masked().Addr().As4()
	return []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: offset, Len: 4},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: mask, Xor: []byte{0, 0, 0, 0}},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: net[:]},
	}
}

func daddrIn(p netip.Prefix) []expr.Any { return addrIn(16, p) }
func saddrIn(p netip.Prefix) []expr.Any { return addrIn(12, p) }

func ctEstablished() []expr.Any {
	return []expr.Any{
		&expr.Ct{Register: 1, Key: expr.CtKeySTATE},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
			Mask: binaryutil.NativeEndian.PutUint32(expr.CtStateBitESTABLISHED | expr.CtStateBitRELATED),
			Xor:  binaryutil.NativeEndian.PutUint32(0)},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(0)},
	}
}

func l4dport(proto byte, port uint16) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{proto}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.BigEndian.PutUint16(port)},
	}
}

func verdict(k expr.VerdictKind) expr.Any { return &expr.Verdict{Kind: k} }

// icmpAdminProhibited is ICMP's "communication administratively
// prohibited" code of destination unreachable.
const icmpAdminProhibited = 13

// refuse is what a sandbox's packet that policy forbids gets: a TCP reset
// (its connect fails at once with "connection refused") or an ICMP
// administratively-prohibited (EHOSTUNREACH) rather than a silent drop,
// so that a program learns at once that it is not allowed instead of
// waiting for its timeout, as with Docker's and the clouds' firewalls.
// It is two rules, the TCP one first; add each after match.
func refuse(match []expr.Any) [][]expr.Any {
	tcp := []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.IPPROTO_TCP}},
		&expr.Reject{Type: unix.NFT_REJECT_TCP_RST},
	}
	return [][]expr.Any{
		join(match, tcp),
		join(match, []expr.Any{&expr.Reject{Type: unix.NFT_REJECT_ICMP_UNREACH, Code: icmpAdminProhibited}}),
	}
}

func join(parts ...[]expr.Any) []expr.Any {
	var out []expr.Any
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// sharedRules is what every sandbox of this manager gets whatever its
// policy, in one table rebuilt at every start (the DNS port changes):
//
//   - masquerade of the pool out of the uplink;
//   - DNS to the link's host side redirected to the forwarder's port;
//   - from a sandbox to the host itself: only that DNS and replies;
//   - to the forwarder's and the egress proxy's ports: only from a
//     sandbox link;
//   - from a sandbox through the host: only out of the uplink (never to
//     another host interface: a container bridge, a VPN, a second NIC),
//     never to link-local/metadata addresses or to the pool (other
//     sandboxes);
//   - what a sandbox may not send is refused (see refuse), not dropped;
//   - into a sandbox through the host: replies only.
type sharedRules struct {
	tag     string
	pool    netip.Prefix
	uplink  string
	dnsPort uint16
	// proxyPorts are the egress proxy's listeners, which connections
	// redirected by a sandbox's policy reach.
	proxyPorts []uint16
}

func (s sharedRules) install(c *nftables.Conn) error {
	t := &nftables.Table{Name: sharedTableName(s.tag), Family: nftables.TableFamilyIPv4}
	// Adding then deleting makes the delete succeed whether or not the
	// table exists; the table is then built fresh, all in one batch.
	c.AddTable(t)
	c.DelTable(t)
	c.AddTable(t)
	accept := nftables.ChainPolicyAccept
	post := c.AddChain(&nftables.Chain{Name: "postrouting", Table: t, Type: nftables.ChainTypeNAT,
		Hooknum: nftables.ChainHookPostrouting, Priority: nftables.ChainPriorityNATSource})
	pre := c.AddChain(&nftables.Chain{Name: "prerouting", Table: t, Type: nftables.ChainTypeNAT,
		Hooknum: nftables.ChainHookPrerouting, Priority: nftables.ChainPriorityNATDest})
	input := c.AddChain(&nftables.Chain{Name: "input", Table: t, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookInput, Priority: nftables.ChainPriorityFilter, Policy: &accept})
	fwd := c.AddChain(&nftables.Chain{Name: "forward", Table: t, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookForward, Priority: nftables.ChainPriorityFilter, Policy: &accept})

	links := []byte("sb" + s.tag + "-") // a prefix: no padding
	fromSandbox := cmpIf(expr.MetaKeyIIFNAME, expr.CmpOpEq, links)
	toSandbox := cmpIf(expr.MetaKeyOIFNAME, expr.CmpOpEq, links)
	add := func(ch *nftables.Chain, e []expr.Any) { c.AddRule(&nftables.Rule{Table: t, Chain: ch, Exprs: e}) }

	add(post, join(saddrIn(s.pool), cmpIf(expr.MetaKeyOIFNAME, expr.CmpOpEq, ifname(s.uplink)), []expr.Any{&expr.Masq{}}))
	for _, proto := range []byte{unix.IPPROTO_UDP, unix.IPPROTO_TCP} {
		add(pre, join(fromSandbox, l4dport(proto, 53), []expr.Any{
			&expr.Immediate{Register: 1, Data: binaryutil.BigEndian.PutUint16(s.dnsPort)},
			&expr.Redir{RegisterProtoMin: 1, Flags: unix.NF_NAT_RANGE_PROTO_SPECIFIED},
		}))
	}
	add(input, join(fromSandbox, ctEstablished(), []expr.Any{verdict(expr.VerdictAccept)}))
	for _, proto := range []byte{unix.IPPROTO_UDP, unix.IPPROTO_TCP} {
		add(input, join(fromSandbox, l4dport(proto, s.dnsPort), []expr.Any{verdict(expr.VerdictAccept)}))
	}
	for _, port := range s.proxyPorts {
		add(input, join(fromSandbox, l4dport(unix.IPPROTO_TCP, port), []expr.Any{verdict(expr.VerdictAccept)}))
	}
	for _, r := range refuse(fromSandbox) {
		add(input, r)
	}
	// The forwarder and the egress proxy listen on every address, for
	// sandboxes only: from other hosts their ports are closed. Loopback
	// is left to the listeners, which refuse any source that is not a
	// sandbox: a drop there would also black-hole the host's own
	// connections to that port number on any local address, as CRIU's
	// self-connect at every checkpoint, should a table outlive its
	// server after a crash.
	notFromSandbox := join(cmpIf(expr.MetaKeyIIFNAME, expr.CmpOpNeq, links), cmpIf(expr.MetaKeyIIFNAME, expr.CmpOpNeq, ifname("lo")))
	for _, proto := range []byte{unix.IPPROTO_UDP, unix.IPPROTO_TCP} {
		add(input, join(notFromSandbox, l4dport(proto, s.dnsPort), []expr.Any{verdict(expr.VerdictDrop)}))
	}
	for _, port := range s.proxyPorts {
		add(input, join(notFromSandbox, l4dport(unix.IPPROTO_TCP, port), []expr.Any{verdict(expr.VerdictDrop)}))
	}
	for _, r := range refuse(join(fromSandbox, cmpIf(expr.MetaKeyOIFNAME, expr.CmpOpNeq, ifname(s.uplink)))) {
		add(fwd, r)
	}
	for _, dst := range []netip.Prefix{metadataRange, s.pool} {
		for _, r := range refuse(join(fromSandbox, daddrIn(dst))) {
			add(fwd, r)
		}
	}
	add(fwd, join(toSandbox, ctEstablished(), []expr.Any{verdict(expr.VerdictAccept)}))
	add(fwd, join(toSandbox, []expr.Any{verdict(expr.VerdictDrop)}))
	if err := c.Flush(); err != nil {
		return fmt.Errorf("install nftables table %s: %w", t.Name, err)
	}
	return nil
}

// policyTable is one sandbox's egress policy: a forward chain that looks
// only at packets from the sandbox's link and, for new connections,
// accepts what AllowOut lists, refuses what DenyOut lists, accepts the rest.
func policyTable(tag, id string) *nftables.Table {
	return &nftables.Table{Name: sandboxTableName(tag, id), Family: nftables.TableFamilyIPv4}
}

// dnsSetName is the set of addresses the sandbox's resolver answered for
// its allowed domains, each for the answer's TTL plus dnsGrace.
const dnsSetName = "dns"

// writePolicy queues the creation or the replacement of the sandbox's
// table in c; the caller flushes, so the whole change is one transaction.
// Adding a table, chain or set that exists changes nothing, so a table of
// an older layout gains what it lacks.
//
//   - chain egress (forward): new connections from the link to AllowOut
//     and to the dns set are accepted, to privateRanges (unless
//     privateOut) and DenyOut refused, the rest accepted;
//   - chain host (input): with nothing allowed, not even DNS;
//   - chain redirect (nat prerouting): with domain rules, connections to
//     ports 80 and 443 not in AllowOut go to the egress proxy;
//   - chain limit (prerouting): the cap on concurrent TCP connections.
func writePolicy(c *nftables.Conn, tag, id, link string, p runtime.NetworkPolicy, proxy proxyPorts, privateOut bool) {
	t := policyTable(tag, id)
	accept := nftables.ChainPolicyAccept
	ch := &nftables.Chain{Name: "egress", Table: t, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookForward, Priority: nftables.ChainPriorityRef(10), Policy: &accept}
	// host sees what the sandbox sends to the host itself, which the
	// shared table limits to DNS: a sandbox that may reach nothing gets
	// no DNS either, so names cannot carry data out.
	host := &nftables.Chain{Name: "host", Table: t, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookInput, Priority: nftables.ChainPriorityRef(10), Policy: &accept}
	redirect := &nftables.Chain{Name: "redirect", Table: t, Type: nftables.ChainTypeNAT,
		Hooknum: nftables.ChainHookPrerouting, Priority: nftables.ChainPriorityRef(-90)}
	limit := &nftables.Chain{Name: "limit", Table: t, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookPrerouting, Priority: nftables.ChainPriorityRef(-150), Policy: &accept}
	// The set's transaction id is ours: left zero, the library takes one
	// from a package counter it does not guard, a data race between two
	// sandboxes' policies written at once.
	set := &nftables.Set{Table: t, Name: dnsSetName, KeyType: nftables.TypeIPAddr, HasTimeout: true, Size: maxDNSAddrs,
		ID: setIDs.Add(1)}
	c.AddTable(t)
	for _, x := range []*nftables.Chain{ch, host, redirect, limit} {
		c.AddChain(x)
		c.FlushChain(x)
	}
	_ = c.AddSet(set, nil)
	c.FlushSet(set)

	fromLink := cmpIf(expr.MetaKeyIIFNAME, expr.CmpOpEq, ifname(link))
	if p.BlocksAll() {
		for _, r := range refuse(fromLink) {
			c.AddRule(&nftables.Rule{Table: t, Chain: host, Exprs: r})
		}
	}
	add := func(e []expr.Any) { c.AddRule(&nftables.Rule{Table: t, Chain: ch, Exprs: e}) }
	add(join(cmpIf(expr.MetaKeyIIFNAME, expr.CmpOpNeq, ifname(link)), []expr.Any{verdict(expr.VerdictAccept)}))
	add(join(ctEstablished(), []expr.Any{verdict(expr.VerdictAccept)}))
	for _, a := range p.AllowOut {
		add(join(daddrIn(a), []expr.Any{verdict(expr.VerdictAccept)}))
	}
	if p.FiltersDomains() {
		add([]expr.Any{
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
			&expr.Lookup{SourceRegister: 1, SetName: set.Name},
			verdict(expr.VerdictAccept),
		})
	}
	if !privateOut {
		for _, d := range privateRanges {
			for _, r := range refuse(daddrIn(d)) {
				add(r)
			}
		}
	}
	for _, d := range p.DenyOut {
		for _, r := range refuse(daddrIn(d)) {
			add(r)
		}
	}

	if p.FiltersDomains() && proxy.http != 0 {
		nat := func(e []expr.Any) { c.AddRule(&nftables.Rule{Table: t, Chain: redirect, Exprs: join(fromLink, e)}) }
		for _, a := range p.AllowOut {
			nat(join(daddrIn(a), []expr.Any{verdict(expr.VerdictAccept)}))
		}
		for _, r := range []struct{ from, to uint16 }{{80, proxy.http}, {443, proxy.tls}} {
			nat(join(l4dport(unix.IPPROTO_TCP, r.from), []expr.Any{
				&expr.Immediate{Register: 1, Data: binaryutil.BigEndian.PutUint16(r.to)},
				&expr.Redir{RegisterProtoMin: 1, Flags: unix.NF_NAT_RANGE_PROTO_SPECIFIED},
			}))
		}
	}

	if n := p.Limits.MaxConnections; n > 0 {
		c.AddRule(&nftables.Rule{Table: t, Chain: limit, Exprs: join(fromLink, []expr.Any{
			&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.IPPROTO_TCP}},
			&expr.Ct{Register: 1, Key: expr.CtKeySTATE},
			&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
				Mask: binaryutil.NativeEndian.PutUint32(expr.CtStateBitNEW),
				Xor:  binaryutil.NativeEndian.PutUint32(0)},
			&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(0)},
			&expr.Connlimit{Count: uint32(n), Flags: expr.NFT_CONNLIMIT_F_INV},
			verdict(expr.VerdictDrop),
		})})
	}
}

// proxyPorts are the egress proxy's listeners; zero when there is none.
type proxyPorts struct{ http, tls uint16 }

// setIDs hands out the transaction ids of the sets this package adds.
var setIDs atomic.Uint32

// maxDNSAddrs caps the addresses a sandbox's dns set holds.
const maxDNSAddrs = 4096

// addDNSAddrs queues the addition of addresses to the sandbox's dns set.
func addDNSAddrs(c *nftables.Conn, tag, id string, addrs []netip.Addr, ttl time.Duration) error {
	set := &nftables.Set{Table: policyTable(tag, id), Name: dnsSetName, KeyType: nftables.TypeIPAddr, HasTimeout: true}
	var els []nftables.SetElement
	for _, a := range addrs {
		b := a.As4()
		els = append(els, nftables.SetElement{Key: b[:], Timeout: ttl})
	}
	return c.SetAddElements(set, els)
}

// deletePolicy queues the removal of the sandbox's table.
func deletePolicy(c *nftables.Conn, tag, id string) {
	t := policyTable(tag, id)
	c.AddTable(t) // so that the delete succeeds when it is absent
	c.DelTable(t)
}

// policyTables lists the ids that have a policy table of this tag.
func policyTables(c *nftables.Conn, tag string) ([]string, error) {
	ts, err := c.ListTablesOfFamily(nftables.TableFamilyIPv4)
	if err != nil {
		return nil, fmt.Errorf("list nftables tables: %w", err)
	}
	var ids []string
	for _, t := range ts {
		if id, ok := strings.CutPrefix(t.Name, sandboxTablePrefix(tag)); ok {
			ids = append(ids, id)
		}
	}
	return ids, nil
}
