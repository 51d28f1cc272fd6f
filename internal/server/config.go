package server

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/soulbox/soulbox/internal/certs"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/network"
	"github.com/soulbox/soulbox/internal/nodeca"
	"github.com/soulbox/soulbox/internal/runtime"
	"github.com/soulbox/soulbox/internal/store/backend"
)

// Config is everything `soulbox server` can be told. Zero fields take the
// defaults of Defaults; Validate says which field is wrong.
type Config struct {
	// Listen is the address of the API and the sandbox traffic proxy.
	Listen string
	// DataDir holds the database, the templates and the sandboxes.
	DataDir string
	// Store is where sandboxes, keys and templates are recorded: empty for
	// SQLite in DataDir, or a postgres:// URL.
	Store string
	// TemplatesDir caches built templates; default <DataDir>/templates.
	TemplatesDir string
	// Domain is the domain of sandbox hosts, <port>-<id>.<Domain>.
	Domain string
	// Runtime forces one OCI runtime (runc, crun, runsc); empty picks the
	// fastest one the host supports.
	Runtime string
	// Compat32 lets sandboxes make 32-bit (i386, x32) system calls,
	// filtered like 64-bit ones; off, such a call kills its thread.
	Compat32 bool
	// AgentPath is the soulbox-agent binary; default next to this binary.
	AgentPath string
	// DebianMirror is where the base template's packages come from.
	DebianMirror string
	// LogLevel is debug, info, warn or error.
	LogLevel string
	// MaxSandboxes is how many sandboxes a team may run at once.
	MaxSandboxes int
	// RateCallsPerKey, RateCallsPerTeam, RateCreatesPerKey and
	// RateCreatesPerTeam limit API calls (creates counted apart) per
	// minute, per key and per team; 0 is no limit.
	RateCallsPerKey, RateCallsPerTeam, RateCreatesPerKey, RateCreatesPerTeam int
	// AuditRetentionDays is how long audit entries are kept; 0 keeps
	// them all.
	AuditRetentionDays int
	// SecretsKeyFile, if set, is the file holding the key teams' secret
	// values are sealed under (64 hex digits, mode 0600); default
	// <DataDir>/secrets.key, made at first start.
	SecretsKeyFile string
	// AdminKey, when set, is the admin API key (instead of one generated
	// and written to <DataDir>/admin.key on first start).
	AdminKey string
	// ShowKey, when set, is where a generated admin key is shown once (the
	// terminal `soulbox server` runs in). The key is never logged.
	ShowKey io.Writer `json:"-"`
	// PoolMin and PoolMax bound the warm pool of the default template;
	// PoolMax 0 pools none of it.
	PoolMin, PoolMax int
	// PoolMemoryMiB bounds the memory pooled sandboxes hold; 0 means an
	// eighth of the host's memory.
	PoolMemoryMiB int
	// PoolPrewarm lists the interpreter languages pooled sandboxes start
	// ahead, comma-separated; "none" for none.
	PoolPrewarm string
	// PoolTemplates bounds the warm pools of other templates, by name or
	// id: "name=min:max,other=min:max". Bounds set through the API take
	// precedence.
	PoolTemplates string
	// PoolDefault ("min:max") bounds the pool of every template neither
	// PoolTemplates nor the API bounds; empty pools none of them.
	PoolDefault string
	// TLS says where the listener's certificates come from; off by default.
	TLS certs.Config
	// HTTPSListen is where, with TLS on, the API and sandbox hosts are
	// also served, for clients that know only the domain; empty means
	// port 443 of Listen's host, "off" none.
	HTTPSListen string
	// DashboardListen, when set, is the only address the web dashboard
	// is served on (with the API and sandbox traffic beside it, which
	// its page calls on its own origin); Listen then serves no
	// dashboard. Empty serves it on Listen.
	DashboardListen string
	// Network is "on" (sandboxes get a link, NAT, DNS and egress
	// policies) or "off" (loopback only).
	Network string
	// NetworkPool is the IPv4 range sandbox links are cut from; empty
	// picks a private /16 no host route overlaps.
	NetworkPool string
	// NetworkUplink is the interface sandbox traffic leaves by; empty
	// means the interface of the host's default route.
	NetworkUplink string
	// NetworkPrivateOut lets sandboxes reach private IPv4 ranges (the
	// operator's networks) through the uplink without a create's allowOut
	// naming them; false by default.
	NetworkPrivateOut bool
	// NetworkDNS is the resolver sandboxes' DNS is forwarded to ("ip" or
	// "ip:port"); empty means the first nameserver of /etc/resolv.conf.
	NetworkDNS string
	// PublicTraffic is the default of a create's
	// network.allowPublicTraffic: true (E2B's default) lets anyone who
	// knows a sandbox's id reach its ports through the server; false makes
	// them require the sandbox's traffic access token (for shared hosts).
	PublicTraffic bool
	// MCP serves the MCP server over streamable HTTP on /mcp,
	// authenticated with the API keys.
	MCP bool
	// NetworkEgressMbps, NetworkIngressMbps and NetworkMaxConnections
	// are every sandbox's network limits (0: unlimited) and the most a
	// create may ask for.
	NetworkEgressMbps     int
	NetworkIngressMbps    int
	NetworkMaxConnections int
	// RegistryMirrors are tried before Docker Hub when a template build
	// pulls a Docker Hub image, comma-separated URLs, as Docker's
	// registry-mirrors ("http://" ones without TLS).
	RegistryMirrors string
	// TemplateLimits bound the template build API and where builds pull
	// from.
	TemplateLimits TemplateLimits
	// OIDC turns on members' sign-in with OpenID Connect; off by default.
	OIDC OIDCConfig
	// Metrics records and serves the Prometheus metrics on GET /metrics
	// (on by default); off, nothing is recorded and /metrics is a 404,
	// for hosts where the unauthenticated endpoint must not exist.
	Metrics bool
	// MetricsTeamLabels adds the per-team series (soulbox_team_*, with
	// each team's id as the team label) to /metrics; off by default, as
	// the endpoint takes no key and a team's id and live usage are the
	// team's own.
	MetricsTeamLabels bool
	// ReadyMinFreeMB is the free space, in MiB, the data dir's filesystem
	// must have for GET /ready to answer ready; 0 does not check.
	ReadyMinFreeMB int
	// MetricsRetention is how long the per-sandbox metric history is
	// kept; MetricsDownsampleAfter is the age past which its 5 s samples
	// are merged into buckets of MetricsBucket.
	MetricsRetention       time.Duration
	MetricsDownsampleAfter time.Duration
	MetricsBucket          time.Duration
	// PausedDiskMB is the most disk, in MiB, the checkpoints of sandboxes
	// paused with their memory may take together; a pause with memory
	// that would pass it is refused (429, the sandbox runs on) and an
	// auto-pause keeps the filesystem only. 0 is unlimited.
	PausedDiskMB int
	// SnapshotDiskMB is the most disk, in MiB, the layers of all
	// snapshots may take together; a snapshot (or a fork with files only)
	// that would pass it is refused (429). 0 is unlimited.
	SnapshotDiskMB int
	// NodeListen is the address of the node listener (mutual TLS, the
	// node service hosts joining with `soulbox node` dial); empty: none,
	// the single-host mode.
	NodeListen string
	// NodeListenNames are further DNS names and addresses the node
	// listener's certificate holds, comma-separated: the names nodes
	// dial it by when that is not this host's (a Kubernetes Service's).
	NodeListenNames string
	// NodeHeartbeatTimeout is how long a joined node may miss heartbeats
	// before it is unhealthy.
	NodeHeartbeatTimeout time.Duration
	// NodeLease is how long a joined node may be silent before the
	// sandboxes recorded on it are ended as lost; longer than
	// NodeHeartbeatTimeout.
	NodeLease time.Duration
	// NodeCertLifetime is how long the certificates signed for joined
	// nodes and for the control plane's client live; each is renewed
	// once less than a third of it remains.
	NodeCertLifetime time.Duration
	// Objects is the S3-compatible object storage layers and pause
	// checkpoints are also kept in (SOULBOX_S3_*); none by default.
	Objects ObjectsConfig
	// SandboxStateDiskMB is the most disk, in MiB, one sandbox's paused
	// state (its checkpoint and writable layer) and snapshots may take
	// together; a pause or snapshot that would pass it is refused (429,
	// the sandbox runs on). 0 is unlimited.
	SandboxStateDiskMB int
	// EmbeddedNode is "on" (the server runs sandboxes itself, beside the
	// nodes that join it) or "off" (a control plane only: every sandbox
	// runs on a joined node). Off needs NodeListen; with PostgreSQL,
	// several servers with it off run at once as replicas.
	EmbeddedNode string
	// KeysDir holds the keys replicas must share: the audit key, the
	// access-token secret, the secrets key (unless SecretsKeyFile) and
	// the node CA (node-ca/); default DataDir. Missing ones are made
	// there at first start, one server at a time on a shared store.
	KeysDir string
}

// Defaults returns the configuration the server runs with when told
// nothing: root keeps its data in /var/lib/soulbox, anyone else in the
// XDG data directory.
func Defaults() Config {
	return Config{
		Listen:        "127.0.0.1:3000",
		DataDir:       defaultDataDir(),
		Domain:        "localhost",
		DebianMirror:  "http://deb.debian.org/debian",
		LogLevel:      "info",
		MaxSandboxes:  100,
		PoolMin:       1,
		PoolMax:       16,
		PoolPrewarm:   "python",
		Network:       "on",
		PublicTraffic: true,
		// A cold create writes a sandbox's directories and an overlay;
		// below a GiB the next creates and pauses start to fail.
		ReadyMinFreeMB: 1024,
		Metrics:        true,
		TemplateLimits: defaultTemplateLimits(),
		// A day of history, as E2B keeps; minutes after an hour.
		MetricsRetention:       24 * time.Hour,
		MetricsDownsampleAfter: time.Hour,
		MetricsBucket:          time.Minute,
		NodeHeartbeatTimeout:   15 * time.Second,
		NodeLease:              60 * time.Second,
		EmbeddedNode:           "on",
		NodeCertLifetime:       nodeca.ClientCertLifetime,
	}
}

func defaultDataDir() string {
	if os.Geteuid() == 0 {
		return "/var/lib/soulbox"
	}
	if x := os.Getenv("XDG_DATA_HOME"); x != "" {
		return filepath.Join(x, "soulbox")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "share", "soulbox")
	}
	return "soulbox-data"
}

// FromEnv overrides c with the SOULBOX_* environment variables that are set.
func (c Config) FromEnv(getenv func(string) string) Config {
	for _, v := range []struct {
		name string
		dst  *string
	}{
		{"SOULBOX_LISTEN", &c.Listen},
		{"SOULBOX_DATA_DIR", &c.DataDir},
		{"SOULBOX_STORE", &c.Store},
		{"SOULBOX_TEMPLATES_DIR", &c.TemplatesDir},
		{"SOULBOX_DOMAIN", &c.Domain},
		{"SOULBOX_RUNTIME", &c.Runtime},
		{"SOULBOX_AGENT_PATH", &c.AgentPath},
		{"SOULBOX_DEBIAN_MIRROR", &c.DebianMirror},
		{"SOULBOX_LOG_LEVEL", &c.LogLevel},
		{"SOULBOX_ADMIN_KEY", &c.AdminKey},
		{"SOULBOX_POOL_PREWARM", &c.PoolPrewarm},
		{"SOULBOX_POOL_TEMPLATES", &c.PoolTemplates},
		{"SOULBOX_POOL_DEFAULT", &c.PoolDefault},
		{"SOULBOX_TLS", &c.TLS.Mode},
		{"SOULBOX_HTTPS_LISTEN", &c.HTTPSListen},
		{"SOULBOX_DASHBOARD_LISTEN", &c.DashboardListen},
		{"SOULBOX_TLS_CERT", &c.TLS.CertFile},
		{"SOULBOX_TLS_KEY", &c.TLS.KeyFile},
		{"SOULBOX_ACME_DIRECTORY", &c.TLS.ACMEDirectory},
		{"SOULBOX_ACME_EMAIL", &c.TLS.ACMEEmail},
		{"SOULBOX_ACME_CA", &c.TLS.ACMECAFile},
		{"SOULBOX_NETWORK", &c.Network},
		{"SOULBOX_NETWORK_POOL", &c.NetworkPool},
		{"SOULBOX_NETWORK_UPLINK", &c.NetworkUplink},
		{"SOULBOX_NETWORK_DNS", &c.NetworkDNS},
		{"SOULBOX_REGISTRY_MIRRORS", &c.RegistryMirrors},
		{"SOULBOX_NODE_LISTEN", &c.NodeListen},
		{"SOULBOX_NODE_LISTEN_NAMES", &c.NodeListenNames},
		{"SOULBOX_EMBEDDED_NODE", &c.EmbeddedNode},
		{"SOULBOX_KEYS_DIR", &c.KeysDir},
	} {
		if s := getenv(v.name); s != "" {
			*v.dst = s
		}
	}
	if s := getenv("SOULBOX_METRICS"); s != "" {
		// Anything but a boolean is taken as false: no endpoint without a
		// clear yes.
		c.Metrics, _ = strconv.ParseBool(s)
	}
	if s := getenv("SOULBOX_METRICS_TEAM_LABELS"); s != "" {
		// Anything but a boolean is taken as false: no team on the
		// unauthenticated endpoint without a clear yes.
		c.MetricsTeamLabels, _ = strconv.ParseBool(s)
	}
	for _, v := range []struct {
		name string
		dst  *time.Duration
	}{
		{"SOULBOX_METRICS_RETENTION", &c.MetricsRetention},
		{"SOULBOX_METRICS_DOWNSAMPLE_AFTER", &c.MetricsDownsampleAfter},
		{"SOULBOX_METRICS_BUCKET", &c.MetricsBucket},
		{"SOULBOX_NODE_HEARTBEAT_TIMEOUT", &c.NodeHeartbeatTimeout},
		{"SOULBOX_NODE_LEASE", &c.NodeLease},
		{"SOULBOX_NODE_CERT_LIFETIME", &c.NodeCertLifetime},
	} {
		if s := getenv(v.name); s != "" {
			d, err := time.ParseDuration(s)
			if err != nil {
				d = -1 // Validate names it
			}
			*v.dst = d
		}
	}
	if s := getenv("SOULBOX_SECRETS_KEY_FILE"); s != "" {
		c.SecretsKeyFile = s
	}
	if s := getenv("SOULBOX_NETWORK_PRIVATE_OUT"); s != "" {
		// Anything but a boolean is taken as false: the safe reading.
		c.NetworkPrivateOut, _ = strconv.ParseBool(s)
	}
	if s := getenv("SOULBOX_COMPAT32"); s != "" {
		// Anything but a boolean is taken as false: the safe reading.
		c.Compat32, _ = strconv.ParseBool(s)
	}
	if s := getenv("SOULBOX_PUBLIC_TRAFFIC"); s != "" {
		// Anything but a boolean is taken as false: the safe reading.
		c.PublicTraffic, _ = strconv.ParseBool(s)
	}
	for _, v := range []struct {
		name string
		dst  *int
	}{
		{"SOULBOX_MAX_SANDBOXES", &c.MaxSandboxes},
		{"SOULBOX_RATE_CALLS_PER_KEY", &c.RateCallsPerKey},
		{"SOULBOX_RATE_CALLS_PER_TEAM", &c.RateCallsPerTeam},
		{"SOULBOX_RATE_CREATES_PER_KEY", &c.RateCreatesPerKey},
		{"SOULBOX_RATE_CREATES_PER_TEAM", &c.RateCreatesPerTeam},
		{"SOULBOX_AUDIT_RETENTION_DAYS", &c.AuditRetentionDays},
		{"SOULBOX_POOL_MIN", &c.PoolMin},
		{"SOULBOX_POOL_MAX", &c.PoolMax},
		{"SOULBOX_POOL_MEMORY_MIB", &c.PoolMemoryMiB},
		{"SOULBOX_NETWORK_EGRESS_MBPS", &c.NetworkEgressMbps},
		{"SOULBOX_NETWORK_INGRESS_MBPS", &c.NetworkIngressMbps},
		{"SOULBOX_NETWORK_MAX_CONNECTIONS", &c.NetworkMaxConnections},
		{"SOULBOX_READY_MIN_FREE_MB", &c.ReadyMinFreeMB},
		{"SOULBOX_PAUSED_DISK_MB", &c.PausedDiskMB},
		{"SOULBOX_SNAPSHOT_DISK_MB", &c.SnapshotDiskMB},
		{"SOULBOX_SANDBOX_STATE_DISK_MB", &c.SandboxStateDiskMB},
	} {
		if s := getenv(v.name); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil {
				n = -1 // Validate names it
			}
			*v.dst = n
		}
	}
	c.TemplateLimits = c.TemplateLimits.fromEnv(getenv)
	c.Objects = c.Objects.FromEnv(getenv)
	c.OIDC = c.OIDC.fromEnv(getenv)
	return c
}

// Validate checks every field and names the first wrong one.
func (c Config) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf(format+": %w", append(args, errdefs.ErrInvalidArgument)...)
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return bad("listen address %q: want host:port, e.g. 127.0.0.1:3000", c.Listen)
	}
	if c.DataDir == "" {
		return bad("data dir is empty")
	}
	if err := backend.Validate(c.Store); err != nil {
		return err
	}
	if c.Domain == "" || strings.ContainsAny(c.Domain, "/: ") {
		return bad("domain %q: want a DNS name such as localhost or sandbox.example.com", c.Domain)
	}
	switch c.Runtime {
	case "", "runc", "crun", "runsc":
	default:
		return bad("runtime %q: want runc, crun or runsc (or nothing to choose automatically)", c.Runtime)
	}
	for _, m := range c.registryMirrors() {
		if !strings.HasPrefix(m, "http://") && !strings.HasPrefix(m, "https://") {
			return bad("registry mirror %q: want an http:// or https:// URL", m)
		}
	}
	if err := c.OIDC.validate(); err != nil {
		return err
	}
	if err := c.TemplateLimits.validate(); err != nil {
		return bad("%v", err)
	}
	if err := c.Objects.Validate(); err != nil {
		return err
	}
	if !strings.HasPrefix(c.DebianMirror, "http://") && !strings.HasPrefix(c.DebianMirror, "https://") {
		return bad("debian mirror %q: want an http:// or https:// URL", c.DebianMirror)
	}
	if c.MaxSandboxes < 1 || c.MaxSandboxes > 100000 {
		return bad("max sandboxes %d: use 1 to 100000", c.MaxSandboxes)
	}
	for _, r := range []int{c.RateCallsPerKey, c.RateCallsPerTeam, c.RateCreatesPerKey, c.RateCreatesPerTeam} {
		if r < 0 || r > 1_000_000 {
			return bad("rate limit %d a minute: use 0 (none) to 1000000", r)
		}
	}
	if c.AuditRetentionDays < 0 || c.AuditRetentionDays > 100*365 {
		return bad("audit retention %d days: use 0 (keep all) to %d", c.AuditRetentionDays, 100*365)
	}
	if c.ReadyMinFreeMB < 0 || c.ReadyMinFreeMB > 1<<30 {
		return bad("ready min free %d MB: use 0 (no check) to %d", c.ReadyMinFreeMB, 1<<30)
	}
	if _, _, err := net.SplitHostPort(c.NodeListen); c.NodeListen != "" && err != nil {
		return bad("node listen address %q: want host:port, e.g. 0.0.0.0:3443, or empty for none", c.NodeListen)
	}
	if _, err := c.nodeListenNames(); err != nil {
		return err
	}
	if err := c.validateEmbeddedNode(); err != nil {
		return err
	}
	if c.NodeHeartbeatTimeout < time.Second || c.NodeHeartbeatTimeout > 10*time.Minute {
		return bad("node heartbeat timeout %s: use a duration from 1s to 10m, e.g. 15s", c.NodeHeartbeatTimeout)
	}
	if c.NodeLease <= c.NodeHeartbeatTimeout || c.NodeLease > 24*time.Hour {
		return bad("node lease %s: use a duration longer than the node heartbeat timeout (%s) and at most 24h, e.g. 60s", c.NodeLease, c.NodeHeartbeatTimeout)
	}
	// A node renews at a heartbeat in the last third of the lifetime:
	// that third must hold a whole heartbeat timeout.
	if c.NodeCertLifetime < 3*c.NodeHeartbeatTimeout || c.NodeCertLifetime > 10*nodeca.ClientCertLifetime {
		return bad("node certificate lifetime %s: use a duration of at least three node heartbeat timeouts (%s) and at most 87600h, e.g. 8760h", c.NodeCertLifetime, 3*c.NodeHeartbeatTimeout)
	}
	// A metrics request reads at most 31 days: a longer history could not
	// be read whole.
	if c.MetricsRetention < time.Minute || c.MetricsRetention > 31*24*time.Hour {
		return bad("metrics retention %s: use a duration from 1m to 744h (31 days), e.g. 24h", c.MetricsRetention)
	}
	if c.MetricsBucket < time.Second || c.MetricsBucket%time.Second != 0 || c.MetricsBucket > time.Hour {
		return bad("metrics bucket %s: use whole seconds from 1s to 1h, e.g. 1m", c.MetricsBucket)
	}
	if c.MetricsDownsampleAfter < c.MetricsBucket || c.MetricsDownsampleAfter > c.MetricsRetention {
		return bad("metrics downsample after %s: use a duration from the bucket (%s) to the retention (%s)", c.MetricsDownsampleAfter, c.MetricsBucket, c.MetricsRetention)
	}
	if c.PoolMin < 0 || c.PoolMax < 0 || (c.PoolMax > 0 && c.PoolMin > c.PoolMax) || c.PoolMax > 10000 {
		return bad("pool size %d..%d: want 0 <= min <= max <= 10000 (max 0 pools none)", c.PoolMin, c.PoolMax)
	}
	if _, err := c.poolTemplates(); err != nil {
		return bad("%v", err)
	}
	if c.PoolDefault != "" {
		if _, err := parseBounds(c.PoolDefault); err != nil {
			return bad("pool default %q: %v", c.PoolDefault, err)
		}
	}
	if err := c.networkLimits().Validate(); err != nil {
		return fmt.Errorf("server network limits: %w", err)
	}
	if c.SnapshotDiskMB < 0 {
		return bad("snapshot disk %d MiB: use 0 (unlimited) or more", c.SnapshotDiskMB)
	}
	if c.PausedDiskMB < 0 {
		return bad("paused disk %d MiB: use 0 (unlimited) or more", c.PausedDiskMB)
	}
	if c.SandboxStateDiskMB < 0 {
		return bad("sandbox state disk %d MiB: use 0 (unlimited) or more", c.SandboxStateDiskMB)
	}
	if c.PoolMemoryMiB < 0 {
		return bad("pool memory %d MiB: use 0 (an eighth of the host's memory) or more", c.PoolMemoryMiB)
	}
	for _, lang := range c.prewarm() {
		switch lang {
		case "python", "javascript", "bash":
		default:
			return bad("pool prewarm %q: want a comma-separated list of python, javascript, bash, or none", lang)
		}
	}
	if err := c.networkConfig().Validate(); err != nil {
		return err
	}
	if c.Network != "on" && c.Network != "off" {
		return bad("network %q: want on or off", c.Network)
	}
	if c.NetworkPool != "" {
		if _, err := netip.ParsePrefix(c.NetworkPool); err != nil {
			return bad("network pool %q: want an IPv4 CIDR block such as 10.200.0.0/16", c.NetworkPool)
		}
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return bad("log level %q: want debug, info, warn or error", c.LogLevel)
	}
	if c.HTTPSListen != "" && c.HTTPSListen != "off" {
		if _, _, err := net.SplitHostPort(c.HTTPSListen); err != nil {
			return bad("https listen address %q: want host:port, e.g. 0.0.0.0:443, or off", c.HTTPSListen)
		}
		if !c.TLS.Enabled() {
			return bad("https listen address %q needs TLS: add --tls or --tls-cert and --tls-key", c.HTTPSListen)
		}
	}
	if c.DashboardListen != "" {
		if _, _, err := net.SplitHostPort(c.DashboardListen); err != nil {
			return bad("dashboard listen address %q: want host:port, e.g. 127.0.0.1:3001", c.DashboardListen)
		}
	}
	return c.TLS.Validate()
}

// NetworkTag is the tag of the network the server puts on the host: what
// network.Uninstall removes once a server killed without its shutdown
// will not start again.
func (c Config) NetworkTag() string { return network.TagFor(c.DataDir) }

// networkConfig is the configuration of the node's network manager; its
// tag keeps the kernel objects of servers with different data dirs apart.
func (c Config) networkConfig() network.Config {
	pool, _ := netip.ParsePrefix(c.NetworkPool)
	return network.Config{Pool: pool, Uplink: c.NetworkUplink, Upstream: c.NetworkDNS, PrivateOut: c.NetworkPrivateOut, Tag: c.NetworkTag()}
}

// prewarm is PoolPrewarm as a list.
func (c Config) prewarm() []string {
	var out []string
	for _, lang := range strings.Split(c.PoolPrewarm, ",") {
		if lang = strings.TrimSpace(lang); lang != "" && lang != "none" {
			out = append(out, lang)
		}
	}
	return out
}

// Level is the parsed LogLevel; call after Validate.
func (c Config) Level() slog.Level {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(c.LogLevel))
	return lvl
}

func (c Config) templatesDir() string {
	if c.TemplatesDir != "" {
		return c.TemplatesDir
	}
	return filepath.Join(c.DataDir, "templates")
}

// httpsListen is the second listener's address, "" for none: none
// without TLS, when told off, or when Listen is already on 443.
func (c Config) httpsListen() string {
	if !c.TLS.Enabled() || c.HTTPSListen == "off" {
		return ""
	}
	if c.HTTPSListen != "" {
		return c.HTTPSListen
	}
	host, port, _ := net.SplitHostPort(c.Listen)
	if port == "443" {
		return ""
	}
	return net.JoinHostPort(host, "443")
}

// poolMemoryMiB is PoolMemoryMiB, or an eighth of the host's memory.
func (c Config) poolMemoryMiB() int {
	if c.PoolMemoryMiB > 0 {
		return c.PoolMemoryMiB
	}
	var info unix.Sysinfo_t
	if err := unix.Sysinfo(&info); err != nil {
		return 1024
	}
	return int(uint64(info.Totalram) * uint64(info.Unit) >> 20 / 8)
}

// networkLimits are the server's network limits for every sandbox.
func (c Config) networkLimits() runtime.NetworkLimits {
	return runtime.NetworkLimits{EgressMbps: c.NetworkEgressMbps, IngressMbps: c.NetworkIngressMbps, MaxConnections: c.NetworkMaxConnections}
}
