package lifecycle

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"regexp"
	"strings"
	"sync"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/logx"
	"github.com/soulbox/soulbox/internal/runtime"
	"github.com/soulbox/soulbox/internal/store"
)

// NetworkRequest is a sandbox's network as a client asks for it, in E2B's
// terms (NewSandbox.allow_internet_access and SandboxNetworkConfig); nil
// fields take the defaults.
type NetworkRequest struct {
	AllowInternetAccess *bool
	AllowOut, DenyOut   []string
	AllowPublicTraffic  *bool
	MaskRequestHost     string
	// EgressMbps, IngressMbps and MaxConnections override the server's
	// network limits for one create (SoulBox extensions).
	EgressMbps, IngressMbps, MaxConnections *int
}

// resolvedNetwork is what Create makes of a NetworkRequest.
type resolvedNetwork struct {
	cfg          *store.NetworkConfig // nil: every default
	policy       runtime.NetworkPolicy
	trafficToken string
}

// resolveNetwork applies the defaults to r, checks it and derives the
// egress policy and, for private traffic, a traffic access token.
func (m *Manager) resolveNetwork(r *NetworkRequest) (resolvedNetwork, error) {
	var rn resolvedNetwork
	if r == nil && !m.privateTraffic && m.netLimits == (runtime.NetworkLimits{}) {
		return rn, nil
	}
	if r == nil {
		r = &NetworkRequest{}
	}
	cfg := store.NetworkConfig{
		AllowInternetAccess: r.AllowInternetAccess == nil || *r.AllowInternetAccess,
		AllowOut:            r.AllowOut, DenyOut: r.DenyOut,
		AllowPublicTraffic: !m.privateTraffic, MaskRequestHost: r.MaskRequestHost,
	}
	if r.AllowPublicTraffic != nil {
		cfg.AllowPublicTraffic = *r.AllowPublicTraffic
	}
	if err := validateMaskHost(cfg.MaskRequestHost); err != nil {
		return rn, err
	}
	for _, l := range []struct {
		name      string
		req       *int
		def, most int
		dst       *int
	}{
		{"egressMbps", r.EgressMbps, m.netLimits.EgressMbps, runtime.MaxNetworkMbps, &cfg.EgressMbps},
		{"ingressMbps", r.IngressMbps, m.netLimits.IngressMbps, runtime.MaxNetworkMbps, &cfg.IngressMbps},
		{"maxConnections", r.MaxConnections, m.netLimits.MaxConnections, runtime.MaxNetworkConnections, &cfg.MaxConnections},
	} {
		*l.dst = l.def
		if l.req == nil {
			continue
		}
		most := l.most
		if l.def > 0 {
			most = l.def
		}
		if *l.req < 1 || *l.req > most {
			return rn, fmt.Errorf("network.%s %d: want 1 to %d (this server's limit): %w", l.name, *l.req, most, errdefs.ErrInvalidArgument)
		}
		*l.dst = *l.req
	}
	p, err := PolicyOf(&cfg)
	if err != nil {
		return rn, err
	}
	rn.cfg, rn.policy = &cfg, p
	if !cfg.AllowPublicTraffic {
		rn.trafficToken = newToken()
	}
	return rn, nil
}

// pooledNetwork is the policy pooled sandboxes are made with: no rules,
// the server's network limits.
func (m *Manager) pooledNetwork() runtime.NetworkPolicy {
	return runtime.NetworkPolicy{Limits: m.netLimits}
}

// isPooledNetwork reports whether p is what a pooled sandbox has already.
func (m *Manager) isPooledNetwork(p runtime.NetworkPolicy) bool {
	return len(p.AllowOut) == 0 && len(p.DenyOut) == 0 && len(p.AllowDomains) == 0 && p.Limits == m.netLimits
}

// domainPattern matches what E2B accepts as a domain entry: a host name,
// optionally behind "*.".
var domainPattern = regexp.MustCompile(`^(\*\.)?([a-zA-Z0-9-]+\.)*[a-zA-Z][a-zA-Z0-9-]*\.?$`)

// PolicyOf is the egress policy of a network configuration, checked: the
// error names the first entry that cannot be part of one.
func PolicyOf(n *store.NetworkConfig) (runtime.NetworkPolicy, error) {
	var p runtime.NetworkPolicy
	if n == nil {
		return p, nil
	}
	bad := func(format string, args ...any) (runtime.NetworkPolicy, error) {
		return runtime.NetworkPolicy{}, fmt.Errorf(format+": %w", append(args, errdefs.ErrInvalidArgument)...)
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
			looksLikeName := domainPattern.MatchString(e) && !strings.Contains(e, "/")
			switch {
			case looksLikeName && l.name == "denyOut":
				return bad("network.denyOut entry %q: deny rules take IPv4 addresses and CIDR blocks, not domains", e)
			case looksLikeName:
				d, err := parseDomain(e)
				if err != nil {
					return bad("network.allowOut entry %q: %v", e, err)
				}
				p.AllowDomains = append(p.AllowDomains, d)
			case l.name == "allowOut":
				return bad("network.allowOut entry %q: %v, nor a domain such as example.com or *.example.com", e, err)
			default:
				return bad("network.%s entry %q: %v", l.name, e, err)
			}
		}
	}
	p.Limits = runtime.NetworkLimits{EgressMbps: n.EgressMbps, IngressMbps: n.IngressMbps, MaxConnections: n.MaxConnections}
	if !n.AllowInternetAccess {
		// E2B: the same as denyOut 0.0.0.0/0.
		p.DenyOut = append(p.DenyOut, netip.MustParsePrefix("0.0.0.0/0"))
	}
	return p, nil
}

// parseDomain reads a host name or *.wildcard as E2B takes it, in the
// form of runtime.NetworkPolicy.AllowDomains.
func parseDomain(s string) (string, error) {
	d := strings.ToLower(strings.TrimSuffix(s, "."))
	name := strings.TrimPrefix(d, "*.")
	if len(d) > 253 {
		return "", fmt.Errorf("a domain has at most 253 characters")
	}
	if strings.Contains(name, "*") {
		return "", fmt.Errorf("a wildcard is only a leading \"*.\", as in *.example.com")
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return "", fmt.Errorf("label %q: use 1 to 63 letters, digits or inner hyphens", label)
		}
	}
	return d, nil
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

// maskHostPattern is a host, optionally with a port, in which ${PORT}
// stands for the port the request was for.
var maskHostPattern = regexp.MustCompile(`^([a-zA-Z0-9.-]|\$\{PORT\})+(:([0-9]|\$\{PORT\})+)?$`)

func validateMaskHost(h string) error {
	if h == "" {
		return nil
	}
	if len(h) > 253 || !maskHostPattern.MatchString(h) {
		return fmt.Errorf("network.maskRequestHost %q: use a host name, optionally with :port, where ${PORT} stands for the requested port: %w", h, errdefs.ErrInvalidArgument)
	}
	return nil
}

// UpdateNetwork replaces the egress rules of a live sandbox, as E2B's PUT
// /sandboxes/{id}/network: an omitted field clears it (allowInternetAccess
// back to true). The change is recorded before it is applied; the
// sandbox's ingress settings and network limits are kept.
func (m *Manager) UpdateNetwork(ctx context.Context, id string, r NetworkRequest) (store.Sandbox, error) {
	sb, err := m.live(ctx, id)
	if err != nil {
		return sb, err
	}
	cfg := store.NetworkConfig{
		AllowInternetAccess: r.AllowInternetAccess == nil || *r.AllowInternetAccess,
		AllowOut:            r.AllowOut, DenyOut: r.DenyOut, AllowPublicTraffic: true,
	}
	if n := sb.Network; n != nil {
		cfg.AllowPublicTraffic, cfg.MaskRequestHost = n.AllowPublicTraffic, n.MaskRequestHost
		cfg.EgressMbps, cfg.IngressMbps, cfg.MaxConnections = n.EgressMbps, n.IngressMbps, n.MaxConnections
	}
	p, err := PolicyOf(&cfg)
	if err != nil {
		return sb, err
	}
	np, ok := m.driver.(runtime.NetworkPolicer)
	if !ok {
		return sb, fmt.Errorf("the %s runtime cannot change a sandbox's network: %w", m.driver.Name(), errdefs.ErrFailedPrecondition)
	}
	// One update of a sandbox at a time: the policy applied is the one
	// recorded last.
	unlock := m.lockNetwork(id)
	defer unlock()
	if err := m.store.SetNetwork(ctx, id, cfg); err != nil {
		return sb, err
	}
	if err := m.applyNetwork(ctx, np, sb, p); err != nil {
		return sb, err
	}
	return m.store.GetSandbox(ctx, id)
}

// EventNetworkFailedClosed is recorded when a recorded network policy
// could not be applied and the sandbox was cut off instead.
const EventNetworkFailedClosed = "network_failed_closed"

// applyNetwork applies a recorded policy, once more if the first try
// fails. If both fail, the sandbox is not left under its old, maybe wider,
// policy: it gets one that lets nothing out (fail closed), with an event
// saying so, until the recorded one is applied (a later update, or the
// server's next start).
func (m *Manager) applyNetwork(ctx context.Context, np runtime.NetworkPolicer, sb store.Sandbox, p runtime.NetworkPolicy) error {
	err := np.SetNetworkPolicy(ctx, sb.ID, p)
	if err == nil {
		return nil
	}
	m.log.Warn("apply network policy, trying again", logx.Sandbox(sb.ID), logx.Err(err))
	if err = np.SetNetworkPolicy(ctx, sb.ID, p); err == nil {
		return nil
	}
	closed := runtime.NetworkPolicy{DenyOut: []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")}, Limits: p.Limits}
	cerr := np.SetNetworkPolicy(context.WithoutCancel(ctx), sb.ID, closed)
	msg := fmt.Sprintf("the recorded network policy could not be applied (%v); the sandbox reaches nothing until it is", err)
	if cerr != nil {
		msg = fmt.Sprintf("the recorded network policy could not be applied (%v), nor one denying all traffic (%v)", err, cerr)
	}
	m.log.Error("apply network policy", logx.Sandbox(sb.ID), slog.String("why", msg))
	if eerr := m.store.SetState(context.WithoutCancel(ctx), sb.ID, []store.SandboxState{sb.State}, sb.State,
		store.Event{Type: EventNetworkFailedClosed, Message: msg}); eerr != nil {
		m.log.Error("record network failure", logx.Sandbox(sb.ID), logx.Err(eerr))
	}
	return fmt.Errorf("sandbox %q: %s: %w", sb.ID, msg, errdefs.ErrUnavailable)
}

// netLock is one sandbox's network update lock and how many hold or
// wait for it.
type netLock struct {
	mu sync.Mutex
	n  int
}

// lockNetwork serialises the network updates of sandbox id; the returned
// function unlocks.
func (m *Manager) lockNetwork(id string) func() {
	m.mu.Lock()
	l := m.netLocks[id]
	if l == nil {
		l = &netLock{}
		m.netLocks[id] = l
	}
	l.n++
	m.mu.Unlock()
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		m.mu.Lock()
		if l.n--; l.n == 0 {
			delete(m.netLocks, id)
		}
		m.mu.Unlock()
	}
}

// restoreNetworks applies the recorded policy of every live sandbox, so
// that one recorded but not applied before a crash takes effect.
func (m *Manager) restoreNetworks(ctx context.Context, live []store.Sandbox) {
	np, ok := m.driver.(runtime.NetworkPolicer)
	if !ok {
		return
	}
	for _, sb := range live {
		if sb.Network == nil || sb.Node != "" { // a joined node keeps its own
			continue
		}
		p, err := PolicyOf(sb.Network)
		if err == nil {
			err = np.SetNetworkPolicy(ctx, sb.ID, p)
		}
		if err != nil {
			m.log.Error("restore network policy", logx.Sandbox(sb.ID), logx.Err(err))
		}
	}
}
