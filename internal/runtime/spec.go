package runtime

import (
	"fmt"
	"net/netip"
	"regexp"
	goruntime "runtime"
	"strings"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// Spec is what a sandbox is created from.
type Spec struct {
	// ID names the sandbox; it is also its hostname. Lowercase letters,
	// digits and inner dashes, at most 63 characters.
	ID string
	// Template names the root filesystem the sandbox starts from.
	Template string
	// Runtime picks the OCI runtime ("runc", "crun", "runsc"); empty lets the
	// driver choose the best one the host supports.
	Runtime string
	// Limits bound the sandbox's resources; zero fields take the defaults.
	Limits Limits
	// Env is added to the environment of the sandbox's main process.
	Env map[string]string
	// NoNewPrivileges sets no_new_privs on every process of the sandbox, so
	// setuid binaries such as sudo no longer raise privileges. Off by
	// default: as in E2B's sandboxes, `user` may sudo to the sandbox's
	// root, which is an unprivileged host uid held in by the user
	// namespace, the capability set and seccomp.
	NoNewPrivileges bool
	// Niceness (0 to 19) lowers the CPU priority of the sandbox's start and
	// processes, for sandboxes made ahead of demand that must leave the
	// CPU to those in use; Prioritizer.SetNiceness restores it.
	Niceness int
	// Network is the sandbox's egress policy, for drivers that give
	// sandboxes a network (see NetworkPolicer); the zero value lets the
	// sandbox reach the internet.
	Network NetworkPolicy
	// Layers, when set, are Template's layers, topmost first, as the
	// control plane recorded them, for a node that does not know the
	// template by name: it resolves them itself (see TemplateLayer).
	// Empty: the driver resolves Template by name.
	Layers []TemplateLayer `json:",omitempty"`
}

// NetworkPolicy says where a sandbox's new outbound connections may go,
// as E2B defines it: a destination in AllowOut is allowed, else one in
// DenyOut is dropped, else it is allowed. Whatever the policy, the host
// itself, other sandboxes and link-local (cloud metadata) addresses are
// unreachable. E2B's allow_internet_access=false is DenyOut 0.0.0.0/0.
type NetworkPolicy struct {
	AllowOut []netip.Prefix
	DenyOut  []netip.Prefix
	// AllowDomains are host names ("example.com") and wildcards
	// ("*.example.com", any name below example.com), lowercase without a
	// trailing dot, allowed for HTTP (by Host) on port 80 and TLS (by
	// SNI) on port 443, and on other ports at the addresses the sandbox's
	// resolver answered for them. Like AllowOut, they win over DenyOut.
	AllowDomains []string
	// Limits are the sandbox's bandwidth and connection caps; zero fields
	// are unlimited.
	Limits NetworkLimits
}

// NetworkLimits cap what a sandbox may use of the network.
type NetworkLimits struct {
	// EgressMbps caps what the sandbox sends, in megabits per second.
	EgressMbps int
	// IngressMbps caps what the sandbox receives, in megabits per second.
	IngressMbps int
	// MaxConnections caps the sandbox's concurrent outbound TCP
	// connections; a new one over it is refused.
	MaxConnections int
}

// Bounds of NetworkLimits fields other than zero.
const (
	MaxNetworkMbps        = 100000
	MaxNetworkConnections = 1000000
)

// IsOpen reports whether the policy is the default one, with no rules
// and no limits.
func (p NetworkPolicy) IsOpen() bool {
	return len(p.AllowOut) == 0 && len(p.DenyOut) == 0 && len(p.AllowDomains) == 0 && p.Limits == NetworkLimits{}
}

// FiltersDomains reports whether domain rules decide anything: there are
// some, and a deny they can win over.
func (p NetworkPolicy) FiltersDomains() bool { return len(p.AllowDomains) > 0 && len(p.DenyOut) > 0 }

// AllowsName reports whether host name matches one of AllowDomains.
func (p NetworkPolicy) AllowsName(name string) bool {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	if name == "" {
		return false
	}
	for _, d := range p.AllowDomains {
		if suffix, ok := strings.CutPrefix(d, "*"); ok {
			if strings.HasSuffix(name, suffix) {
				return true
			}
		} else if name == d {
			return true
		}
	}
	return false
}

// BlocksAll reports whether the policy allows no destination at all; such
// a sandbox gets no DNS either.
func (p NetworkPolicy) BlocksAll() bool {
	if len(p.AllowOut) > 0 || len(p.AllowDomains) > 0 {
		return false
	}
	for _, d := range p.DenyOut {
		if d.Bits() == 0 {
			return true
		}
	}
	return false
}

// MaxNetworkRules caps AllowOut and DenyOut each: every entry is a rule
// checked on a new connection.
const MaxNetworkRules = 1000

// Validate checks that the policy's prefixes are IPv4 and within the cap.
func (p NetworkPolicy) Validate() error {
	for _, l := range []struct {
		name string
		list []netip.Prefix
	}{{"allowOut", p.AllowOut}, {"denyOut", p.DenyOut}} {
		if len(l.list) > MaxNetworkRules {
			return fmt.Errorf("%s has %d entries: at most %d: %w", l.name, len(l.list), MaxNetworkRules, errdefs.ErrInvalidArgument)
		}
		for _, e := range l.list {
			if !e.IsValid() || !e.Addr().Is4() {
				return fmt.Errorf("%s entry %q: only IPv4 addresses and CIDR blocks are supported: %w", l.name, e, errdefs.ErrInvalidArgument)
			}
		}
	}
	if len(p.AllowOut)+len(p.AllowDomains) > MaxNetworkRules {
		return fmt.Errorf("allowOut has %d entries: at most %d: %w", len(p.AllowOut)+len(p.AllowDomains), MaxNetworkRules, errdefs.ErrInvalidArgument)
	}
	for _, d := range p.AllowDomains {
		if len(d) > 253 || !domainPattern.MatchString(d) {
			return fmt.Errorf("allowOut entry %q: not a lowercase host name or *.wildcard: %w", d, errdefs.ErrInvalidArgument)
		}
	}
	return p.Limits.Validate()
}

// Validate checks the limits against their bounds.
func (l NetworkLimits) Validate() error {
	for _, f := range []struct {
		name   string
		v, max int
	}{{"egressMbps", l.EgressMbps, MaxNetworkMbps}, {"ingressMbps", l.IngressMbps, MaxNetworkMbps}, {"maxConnections", l.MaxConnections, MaxNetworkConnections}} {
		if f.v < 0 || f.v > f.max {
			return fmt.Errorf("%s %d: want 0 (unlimited) to %d: %w", f.name, f.v, f.max, errdefs.ErrInvalidArgument)
		}
	}
	return nil
}

// domainPattern is a lowercase host name of at most 253 characters,
// optionally behind "*.", without a trailing dot.
var domainPattern = regexp.MustCompile(`^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// Limits bound what a sandbox may use.
type Limits struct {
	CPUCount int // CPUs worth of time per period
	MemoryMB int // memory including page cache; the OOM killer acts inside
	DiskMB   int // size of the writable layer
	Pids     int // processes and threads
}

// The defaults, chosen to match E2B's default sandbox.
const (
	DefaultCPUCount = 2
	DefaultMemoryMB = 512
	DefaultDiskMB   = 10 * 1024
	DefaultPids     = 4096
)

// Bounds that no request may cross: below them a sandbox cannot start its
// agent; above them the number is a mistake, not a wish.
const (
	MinMemoryMB = 32
	MaxMemoryMB = 1 << 20 // 1 TiB
	MinDiskMB   = 64
	MaxDiskMB   = 1 << 20 // 1 TiB, sparse
	MinPids     = 16
	MaxPids     = 1 << 22 // the kernel's pid_max ceiling
)

var idPattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// ValidateID checks that id can name a sandbox.
func ValidateID(id string) error {
	if !idPattern.MatchString(id) {
		return fmt.Errorf("sandbox id %q: use 1-63 lowercase letters, digits or inner dashes: %w", id, errdefs.ErrInvalidArgument)
	}
	return nil
}

// WithDefaults returns l with every zero field set to its default.
func (l Limits) WithDefaults() Limits {
	if l.CPUCount == 0 {
		l.CPUCount = min(DefaultCPUCount, goruntime.NumCPU())
	}
	if l.MemoryMB == 0 {
		l.MemoryMB = DefaultMemoryMB
	}
	if l.DiskMB == 0 {
		l.DiskMB = DefaultDiskMB
	}
	if l.Pids == 0 {
		l.Pids = DefaultPids
	}
	return l
}

// Validate checks limits after defaults are applied.
func (l Limits) Validate() error {
	bad := func(field string, v, lo, hi int, unit string) error {
		return fmt.Errorf("%s %d is out of range: use %d to %d%s: %w", field, v, lo, hi, unit, errdefs.ErrInvalidArgument)
	}
	if n := goruntime.NumCPU(); l.CPUCount < 1 || l.CPUCount > n {
		return bad("cpuCount", l.CPUCount, 1, n, " (the host's CPUs)")
	}
	if l.MemoryMB < MinMemoryMB || l.MemoryMB > MaxMemoryMB {
		return bad("memoryMB", l.MemoryMB, MinMemoryMB, MaxMemoryMB, " MiB")
	}
	if l.DiskMB < MinDiskMB || l.DiskMB > MaxDiskMB {
		return bad("diskMB", l.DiskMB, MinDiskMB, MaxDiskMB, " MiB")
	}
	if l.Pids < MinPids || l.Pids > MaxPids {
		return bad("pids", l.Pids, MinPids, MaxPids, "")
	}
	return nil
}

// Validate checks the spec; it does not apply defaults.
func (s Spec) Validate() error {
	if err := ValidateID(s.ID); err != nil {
		return err
	}
	if s.Template == "" {
		return fmt.Errorf("sandbox %q: template is required: %w", s.ID, errdefs.ErrInvalidArgument)
	}
	switch s.Runtime {
	case "", "runc", "crun", "runsc":
	default:
		return fmt.Errorf("sandbox %q: runtime %q: use runc, crun or runsc: %w", s.ID, s.Runtime, errdefs.ErrInvalidArgument)
	}
	for k := range s.Env {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			return fmt.Errorf("sandbox %q: env var name %q: %w", s.ID, k, errdefs.ErrInvalidArgument)
		}
	}
	if s.Niceness < 0 || s.Niceness > 19 {
		return fmt.Errorf("sandbox %q: niceness %d: use 0 to 19: %w", s.ID, s.Niceness, errdefs.ErrInvalidArgument)
	}
	if err := s.Network.Validate(); err != nil {
		return fmt.Errorf("sandbox %q: %w", s.ID, err)
	}
	if err := validateTemplateLayers(s.Layers); err != nil {
		return fmt.Errorf("sandbox %q: template %q: %w", s.ID, s.Template, err)
	}
	return s.Limits.WithDefaults().Validate()
}
