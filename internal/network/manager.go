package network

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/google/nftables"
	"github.com/miekg/dns"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/logx"
	"github.com/soulbox/soulbox/internal/runtime"
)

// Manager owns the network of every sandbox on the node.
type Manager struct {
	cfg      Config
	pool     netip.Prefix
	uplink   string
	upstream string
	log      *slog.Logger
	dns      *forwarder

	proxy *egressProxy

	mu       sync.Mutex
	addrs    *addrPool
	slots    map[string]int                   // sandbox id -> slot
	policies map[string]runtime.NetworkPolicy // sandbox id -> its policy
}

// Attachment is a sandbox's prepared network.
type Attachment struct {
	// NetnsPath is where the sandbox's namespace is bind-mounted.
	NetnsPath string
	// Address is the sandbox's own address on its link.
	Address netip.Addr
	// Gateway is the host side of the link: the default route and the
	// nameserver of the sandbox.
	Gateway netip.Addr
}

// New prepares the host: checks the pool against its routes, turns on
// IPv4 forwarding, finds the sandboxes' links that already exist (a
// restart), starts the DNS forwarder and installs the shared nftables
// table.
func New(ctx context.Context, cfg Config) (m *Manager, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	m = &Manager{cfg: cfg, log: cfg.Log, slots: map[string]int{}, policies: map[string]runtime.NetworkPolicy{}}
	ours := func(name string) bool { _, ok := linkSlot(cfg.Tag, name); return ok }
	if cfg.Pool.IsValid() {
		if err := checkRoutes(cfg.Pool, ours); err != nil {
			return nil, err
		}
		m.pool = cfg.Pool
	} else {
		candidates := DefaultPools
		if p, ok := poolInUse(ours); ok {
			candidates = append([]netip.Prefix{p}, DefaultPools...)
		}
		for _, p := range candidates {
			if checkRoutes(p, ours) == nil {
				m.pool = p
				break
			}
		}
		if !m.pool.IsValid() {
			return nil, fmt.Errorf("every default network pool overlaps a host route; set one with --network-pool: %w", errdefs.ErrFailedPrecondition)
		}
	}
	m.addrs = newAddrPool(m.pool)
	if m.uplink = cfg.Uplink; m.uplink == "" {
		if m.uplink, err = defaultRouteLink(); err != nil {
			return nil, err
		}
	} else if _, err := netlink.LinkByName(m.uplink); err != nil {
		return nil, fmt.Errorf("uplink interface %q: %v: %w", m.uplink, err, errdefs.ErrInvalidArgument)
	}
	if m.upstream, err = resolveUpstream(cfg.Upstream); err != nil {
		return nil, err
	}
	if err := os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1"), 0); err != nil {
		return nil, fmt.Errorf("enable IPv4 forwarding: %w", err)
	}
	if err := m.adoptLinks(); err != nil {
		return nil, err
	}
	if m.dns, err = startForwarder(m.upstream, m.pool, m.log, m.recordAnswer); err != nil {
		return nil, err
	}
	// m is nil by the time a failed New's deferred calls run.
	dns := m.dns
	defer func() {
		if err != nil {
			dns.close()
		}
	}()
	if m.proxy, err = startProxy(m.pool, m.uplink, cfg.PrivateOut, m.log, m.policyAt, m.dns.lookup); err != nil {
		return nil, err
	}
	proxy := m.proxy
	defer func() {
		if err != nil {
			proxy.close()
		}
	}()
	c, err := openNftables()
	if err != nil {
		return nil, fmt.Errorf("open nftables: %w", err)
	}
	rules := sharedRules{tag: cfg.Tag, pool: m.pool, uplink: m.uplink, dnsPort: m.dns.port,
		proxyPorts: []uint16{m.proxy.httpPort(), m.proxy.tlsPort()}}
	if err := rules.install(c); err != nil {
		return nil, err
	}
	// Last, and undone by itself when it fails: a New that fails leaves
	// no mount behind.
	if err := prepareNetnsDir(cfg.NetnsDir); err != nil {
		return nil, err
	}
	m.log.Info("network ready", slog.String("pool", m.pool.String()), slog.String("uplink", m.uplink),
		slog.String("upstream", m.upstream), slog.Int("adopted_links", len(m.slots)))
	return m, nil
}

// openNftables opens the netlink connection for nftables; a variable so
// that tests can make New fail late.
var openNftables = func() (*nftables.Conn, error) { return nftables.New() }

// Pool is the range sandbox addresses come from.
func (m *Manager) Pool() netip.Prefix { return m.pool }

// Uplink is the interface sandbox traffic leaves by.
func (m *Manager) Uplink() string { return m.uplink }

// Close stops the DNS forwarder. The sandboxes' links, namespaces and
// tables stay for the sandboxes that keep running, with the shared table
// their NAT needs; the next Manager adopts them. With no sandbox left,
// nothing of the manager stays on the host.
func (m *Manager) Close() error {
	m.dns.close()
	m.proxy.close()
	m.mu.Lock()
	idle := len(m.slots) == 0
	m.mu.Unlock()
	if idle {
		return m.Uninstall()
	}
	return nil
}

// Uninstall removes every network object of this manager's tag, the
// sandboxes' (policy tables, links, namespaces) and the shared table, and
// unmounts the namespace directory: for a host where no sandbox of this
// manager is meant to run any more. Call it after Close.
func (m *Manager) Uninstall() error { return uninstall(m.cfg.Tag, m.cfg.NetnsDir) }

// Uninstall is Manager.Uninstall for the manager of tag with the default
// namespace directory, when that manager is gone (a stopped server).
func Uninstall(tag string) error {
	return uninstall(tag, Config{Tag: tag}.withDefaults().NetnsDir)
}

func uninstall(tag, netnsDir string) error {
	var errs []error
	c, err := nftables.New()
	if err != nil {
		return fmt.Errorf("open nftables: %w", err)
	}
	ids, err := policyTables(c, tag)
	if err != nil {
		errs = append(errs, err)
	}
	for _, id := range ids {
		deletePolicy(c, tag, id)
	}
	t := &nftables.Table{Name: sharedTableName(tag), Family: nftables.TableFamilyIPv4}
	c.AddTable(t)
	c.DelTable(t)
	if err := c.Flush(); err != nil {
		errs = append(errs, fmt.Errorf("delete nftables tables of %s: %w", tag, err))
	}
	if links, err := linkList(); err == nil {
		for _, l := range links {
			if _, ok := linkSlot(tag, l.Attrs().Name); ok {
				if err := netlink.LinkDel(l); err != nil {
					errs = append(errs, fmt.Errorf("delete link %s: %w", l.Attrs().Name, err))
				}
			}
		}
	}
	entries, _ := os.ReadDir(netnsDir)
	for _, e := range entries {
		if err := removeNetns(filepath.Join(netnsDir, e.Name())); err != nil {
			errs = append(errs, err)
		}
	}
	_ = unix.Unmount(netnsDir, unix.MNT_DETACH)
	_ = os.Remove(netnsDir)
	return errors.Join(errs...)
}

// NetnsPath is where the namespace of sandbox id is mounted.
func (m *Manager) NetnsPath(id string) string { return filepath.Join(m.cfg.NetnsDir, id) }

// adoptLinks records the slots of links left by a previous manager of the
// same tag, so that their addresses are not handed out twice.
func (m *Manager) adoptLinks() error {
	links, err := linkList()
	if err != nil {
		return fmt.Errorf("list links: %w", err)
	}
	for _, l := range links {
		slot, ok := linkSlot(m.cfg.Tag, l.Attrs().Name)
		if !ok {
			continue
		}
		id, _ := strings.CutPrefix(l.Attrs().Alias, aliasPrefix)
		if id == "" || slot <= 0 || slot >= m.addrs.size() {
			// Not ours to understand: remove it so its name is free.
			_ = netlink.LinkDel(l)
			continue
		}
		m.addrs.used[slot] = id
		m.slots[id] = slot
	}
	return nil
}

// Setup gives sandbox id its network with policy p, in the network
// namespace at netns (a sandbox's /proc/<pid>/ns/net), or in a new one
// when netns is empty; either is bind-mounted at NetnsPath(id). On
// failure nothing of it is left.
func (m *Manager) Setup(ctx context.Context, id, netns string, p runtime.NetworkPolicy) (a Attachment, err error) {
	if err := runtime.ValidateID(id); err != nil {
		return a, err
	}
	if err := p.Validate(); err != nil {
		return a, err
	}
	m.mu.Lock()
	if _, ok := m.slots[id]; ok {
		m.mu.Unlock()
		return a, fmt.Errorf("sandbox %q already has a network: %w", id, errdefs.ErrAlreadyExists)
	}
	slot, err := m.addrs.take(id)
	if err == nil {
		m.slots[id] = slot
	}
	m.mu.Unlock()
	if err != nil {
		return a, err
	}
	defer func() {
		if err != nil {
			if terr := m.Teardown(context.WithoutCancel(ctx), id); terr != nil {
				m.log.Error("network cleanup after failed setup", logx.Sandbox(id), logx.Err(terr))
			}
		}
	}()
	host, sbx := m.addrs.addrs(slot)
	a = Attachment{NetnsPath: m.NetnsPath(id), Address: sbx, Gateway: host}
	if err := mountNetns(a.NetnsPath, netns); err != nil {
		return a, fmt.Errorf("sandbox %q: %w", id, err)
	}
	name := linkName(m.cfg.Tag, slot)
	if err := makeLink(a, name, id); err != nil {
		return a, fmt.Errorf("sandbox %q: %w", id, err)
	}
	c, err := nftables.New()
	if err != nil {
		return a, fmt.Errorf("open nftables: %w", err)
	}
	m.mu.Lock()
	m.policies[id] = p
	m.mu.Unlock()
	writePolicy(c, m.cfg.Tag, id, name, p, m.proxyPorts(), m.cfg.PrivateOut)
	if err := c.Flush(); err != nil {
		return a, fmt.Errorf("sandbox %q: install network policy: %w", id, err)
	}
	if p.Limits != (runtime.NetworkLimits{}) {
		if err := applyLimits(name, a.NetnsPath, p.Limits); err != nil {
			return a, fmt.Errorf("sandbox %q: %w", id, err)
		}
	}
	return a, nil
}

func (m *Manager) proxyPorts() proxyPorts {
	return proxyPorts{http: m.proxy.httpPort(), tls: m.proxy.tlsPort()}
}

// policyAt returns the sandbox whose link has address src, and its
// policy.
func (m *Manager) policyAt(src netip.Addr) (string, runtime.NetworkPolicy, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	slot, ok := m.addrs.slotOf(src)
	if !ok {
		return "", runtime.NetworkPolicy{}, false
	}
	id := m.addrs.used[slot]
	p, ok := m.policies[id]
	return id, p, ok
}

// dnsGrace is added to a recorded address's TTL: a client connects just
// after its lookup, and a TTL of 0 still needs that moment.
const dnsGrace = 5 * time.Second

// recordAnswer adds the addresses of an answer for an allowed domain to
// the asking sandbox's dns set, before the sandbox sees the answer.
func (m *Manager) recordAnswer(src netip.Addr, r *dns.Msg) {
	if len(r.Question) != 1 {
		return
	}
	id, p, ok := m.policyAt(src)
	if !ok || !p.FiltersDomains() || !p.AllowsName(r.Question[0].Name) {
		return
	}
	addrs, ttl := answerAddrs(r)
	if len(addrs) == 0 {
		return
	}
	c, err := nftables.New()
	if err == nil {
		if err = addDNSAddrs(c, m.cfg.Tag, id, addrs, time.Duration(ttl)*time.Second+dnsGrace); err == nil {
			err = c.Flush()
		}
	}
	if err != nil {
		m.log.Warn("record resolved addresses", logx.Sandbox(id), slog.String("name", r.Question[0].Name), logx.Err(err))
	}
}

// SetPolicy replaces the egress policy of sandbox id in one nftables
// transaction.
func (m *Manager) SetPolicy(ctx context.Context, id string, p runtime.NetworkPolicy) error {
	if err := p.Validate(); err != nil {
		return err
	}
	m.mu.Lock()
	slot, ok := m.slots[id]
	m.mu.Unlock()
	if !ok {
		return fmt.Errorf("sandbox %q has no network: %w", id, errdefs.ErrNotFound)
	}
	c, err := nftables.New()
	if err != nil {
		return fmt.Errorf("open nftables: %w", err)
	}
	m.mu.Lock()
	old, known := m.policies[id]
	m.policies[id] = p
	m.mu.Unlock()
	writePolicy(c, m.cfg.Tag, id, linkName(m.cfg.Tag, slot), p, m.proxyPorts(), m.cfg.PrivateOut)
	if err := c.Flush(); err != nil {
		return fmt.Errorf("sandbox %q: replace network policy: %w", id, err)
	}
	if !known || old.Limits != p.Limits {
		if err := applyLimits(linkName(m.cfg.Tag, slot), m.NetnsPath(id), p.Limits); err != nil {
			return fmt.Errorf("sandbox %q: %w", id, err)
		}
	}
	return nil
}

// Teardown removes everything of sandbox id's network: its policy table,
// its link and its namespace, then frees its address. It tolerates any
// part being absent, so it cleans up after a partial Setup or a crash.
func (m *Manager) Teardown(ctx context.Context, id string) error {
	var errs []error
	if c, err := nftables.New(); err != nil {
		errs = append(errs, fmt.Errorf("open nftables: %w", err))
	} else {
		deletePolicy(c, m.cfg.Tag, id)
		if err := c.Flush(); err != nil {
			errs = append(errs, fmt.Errorf("delete network policy: %w", err))
		}
	}
	for _, l := range m.linksOf(id) {
		if err := netlink.LinkDel(l); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("delete link %s: %w", l.Attrs().Name, err))
		}
	}
	if err := removeNetns(m.NetnsPath(id)); err != nil {
		errs = append(errs, err)
	}
	m.proxy.cut(id)
	m.mu.Lock()
	if slot, ok := m.slots[id]; ok {
		if len(errs) == 0 {
			m.addrs.release(slot)
			delete(m.slots, id)
			delete(m.policies, id)
		}
	}
	m.mu.Unlock()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sandbox %q: network teardown: %w", id, err)
	}
	return nil
}

// linksOf finds the host-side links of sandbox id: by its slot, and by
// alias for one whose slot is not known.
func (m *Manager) linksOf(id string) []netlink.Link {
	links, err := linkList()
	if err != nil {
		return nil
	}
	var out []netlink.Link
	for _, l := range links {
		if _, ok := linkSlot(m.cfg.Tag, l.Attrs().Name); ok && l.Attrs().Alias == aliasPrefix+id {
			out = append(out, l)
		}
	}
	return out
}

// List returns the ids of sandboxes that own any network object of this
// manager: a namespace, a link or a policy table.
func (m *Manager) List(ctx context.Context) ([]string, error) {
	ids := map[string]bool{}
	entries, err := os.ReadDir(m.cfg.NetnsDir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("list network namespaces: %w", err)
	}
	for _, e := range entries {
		ids[e.Name()] = true
	}
	links, err := linkList()
	if err != nil {
		return nil, fmt.Errorf("list links: %w", err)
	}
	for _, l := range links {
		if _, ok := linkSlot(m.cfg.Tag, l.Attrs().Name); ok {
			if id, ok := strings.CutPrefix(l.Attrs().Alias, aliasPrefix); ok && id != "" {
				ids[id] = true
			}
		}
	}
	c, err := nftables.New()
	if err != nil {
		return nil, fmt.Errorf("open nftables: %w", err)
	}
	tables, err := policyTables(c, m.cfg.Tag)
	if err != nil {
		return nil, err
	}
	for _, id := range tables {
		ids[id] = true
	}
	out := make([]string, 0, len(ids))
	for id := range ids {
		out = append(out, id)
	}
	return out, nil
}

// Leftovers lists what of sandbox id's network still exists, for leak
// checks.
func (m *Manager) Leftovers(ctx context.Context, id string) []string {
	var out []string
	if _, err := os.Lstat(m.NetnsPath(id)); err == nil {
		out = append(out, "network namespace "+m.NetnsPath(id))
	}
	for _, l := range m.linksOf(id) {
		out = append(out, "link "+l.Attrs().Name)
	}
	if c, err := nftables.New(); err == nil {
		if ids, err := policyTables(c, m.cfg.Tag); err == nil {
			for _, t := range ids {
				if t == id {
					out = append(out, "nftables table "+sandboxTableName(m.cfg.Tag, id))
				}
			}
		}
	}
	m.mu.Lock()
	if slot, ok := m.slots[id]; ok {
		host, _ := m.addrs.addrs(slot)
		out = append(out, "address lease "+host.String())
	}
	if _, ok := m.policies[id]; ok {
		out = append(out, "egress policy in memory")
	}
	m.mu.Unlock()
	if n := m.proxy.active(id); n > 0 {
		out = append(out, fmt.Sprintf("%d egress proxy connections", n))
	}
	return out
}

// defaultRouteLink names the interface of the host's IPv4 default route.
func defaultRouteLink() (string, error) {
	routes, err := routeList()
	if err != nil {
		return "", fmt.Errorf("list host routes: %w", err)
	}
	for _, r := range routes {
		if r.Dst == nil || r.Dst.IP.IsUnspecified() && isZeroMask(r.Dst.Mask) {
			if l, err := netlink.LinkByIndex(r.LinkIndex); err == nil {
				return l.Attrs().Name, nil
			}
		}
	}
	return "", fmt.Errorf("the host has no IPv4 default route to send sandbox traffic by; set the uplink interface: %w", errdefs.ErrFailedPrecondition)
}

func isZeroMask(m []byte) bool {
	for _, b := range m {
		if b != 0 {
			return false
		}
	}
	return true
}

// Reattach gives sandbox id's network, kept with its address and policy,
// to the network namespace at netns: the one a restored (or recreated)
// sandbox's runtime made in place of the namespace it had. The link is
// made again in the same slot, so the sandbox keeps its addresses and
// the policy table, which names the link, applies unchanged.
//
// A sandbox whose link is gone (a server killed half-way through an
// earlier Reattach) gets a new network instead, with a policy that
// allows nothing: the caller sets the sandbox's own policy next.
func (m *Manager) Reattach(ctx context.Context, id, netns string) (a Attachment, err error) {
	m.mu.Lock()
	slot, ok := m.slots[id]
	m.mu.Unlock()
	if !ok {
		if err := m.Teardown(ctx, id); err != nil {
			return a, err
		}
		return m.Setup(ctx, id, netns, runtime.NetworkPolicy{DenyOut: []netip.Prefix{netip.PrefixFrom(netip.IPv4Unspecified(), 0)}})
	}
	host, sbx := m.addrs.addrs(slot)
	a = Attachment{NetnsPath: m.NetnsPath(id), Address: sbx, Gateway: host}
	for _, l := range m.linksOf(id) {
		if err := netlink.LinkDel(l); err != nil && !errors.Is(err, os.ErrNotExist) {
			return a, fmt.Errorf("sandbox %q: delete link %s: %w", id, l.Attrs().Name, err)
		}
	}
	if err := removeNetns(a.NetnsPath); err != nil {
		return a, fmt.Errorf("sandbox %q: %w", id, err)
	}
	if err := mountNetns(a.NetnsPath, netns); err != nil {
		return a, fmt.Errorf("sandbox %q: %w", id, err)
	}
	if err := makeLink(a, linkName(m.cfg.Tag, slot), id); err != nil {
		return a, fmt.Errorf("sandbox %q: %w", id, err)
	}
	return a, nil
}
