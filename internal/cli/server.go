package cli

import (
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/soulbox/soulbox/internal/gctune"
	"github.com/soulbox/soulbox/internal/server"
)

func newServerCmd() *cobra.Command {
	cfg := server.Defaults().FromEnv(os.Getenv)
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the SoulBox server (API, sandbox traffic, runtime) on this host",
		Long: `Run the SoulBox server on this host. It needs root: sandboxes use user
namespaces, mounts and cgroups. On first start it builds the default
template (base, alias code-interpreter-v1) with debootstrap, which takes a
few minutes; later starts reuse it.

Every flag can also be set in the environment: SOULBOX_LISTEN,
SOULBOX_DATA_DIR, SOULBOX_TEMPLATES_DIR, SOULBOX_DOMAIN, SOULBOX_RUNTIME,
SOULBOX_AGENT_PATH, SOULBOX_DEBIAN_MIRROR, SOULBOX_LOG_LEVEL, SOULBOX_TLS,
SOULBOX_TLS_CERT, SOULBOX_TLS_KEY, SOULBOX_HTTPS_LISTEN, SOULBOX_ACME_DIRECTORY,
SOULBOX_ACME_EMAIL, SOULBOX_ACME_CA, SOULBOX_NETWORK, SOULBOX_NETWORK_POOL,
SOULBOX_NETWORK_UPLINK, SOULBOX_NETWORK_DNS, SOULBOX_PUBLIC_TRAFFIC,
SOULBOX_READY_MIN_FREE_MB, SOULBOX_METRICS, SOULBOX_COMPAT32. Flags win.

With TLS on, --listen serves HTTPS for the API and the sandbox hosts
<port>-<id>.<domain>, and so does port 443 of the same host (--https-listen):
the E2B SDKs reach https://api.<domain> and sandbox hosts there, so clients
need only E2B_DOMAIN and E2B_API_KEY.`,
		Example: `  sudo soulbox server
  sudo soulbox server --listen 0.0.0.0:3000 --data-dir /srv/soulbox
  sudo soulbox server --tls=self-signed
  sudo soulbox server --listen :443 --domain sb.example.com --tls-cert fullchain.pem --tls-key key.pem
  sudo soulbox server --listen :443 --domain sb.example.com --tls=acme --acme-email ops@example.com`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cfg.Validate(); err != nil {
				return err
			}
			gctune.Apply(os.Getenv)
			log := newLogger(cfg.Level())
			// A generated admin key is shown on a terminal only: output
			// that is not one (a journal, a pipe) is a log, and keys are
			// never logged; the log points to the key file instead.
			if _, err := unix.IoctlGetTermios(int(os.Stdout.Fd()), unix.TCGETS); err == nil {
				cfg.ShowKey = cmd.OutOrStdout()
			}
			srv, err := server.New(cmd.Context(), cfg, log)
			if err != nil {
				return err
			}
			return srv.Run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Listen, "listen", cfg.Listen, "address of the API and sandbox traffic")
	f.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "directory of the database, templates and sandboxes")
	f.StringVar(&cfg.Store, "store", cfg.Store, "postgres:// URL of a PostgreSQL database (default: SQLite in the data dir)")
	f.StringVar(&cfg.TemplatesDir, "templates-dir", cfg.TemplatesDir, "template cache (default <data-dir>/templates)")
	f.StringVar(&cfg.Domain, "domain", cfg.Domain, "domain of sandbox hosts, <port>-<id>.<domain>")
	f.StringVar(&cfg.Runtime, "runtime", cfg.Runtime, "OCI runtime: runc, crun or runsc (default: fastest the host supports)")
	f.BoolVar(&cfg.Compat32, "compat32", cfg.Compat32, "let sandboxes make 32-bit (i386, x32) system calls, filtered as 64-bit ones are, so 32-bit programs run (default: such a call kills its thread)")
	f.StringVar(&cfg.AgentPath, "agent", cfg.AgentPath, "soulbox-agent binary (default: next to this binary)")
	f.StringVar(&cfg.DebianMirror, "debian-mirror", cfg.DebianMirror, "Debian mirror the base template is built from")
	f.StringVar(&cfg.RegistryMirrors, "registry-mirrors", cfg.RegistryMirrors, "registry mirrors tried first for Docker Hub images in template builds, comma-separated URLs")
	f.StringVar(&cfg.LogLevel, "log-level", cfg.LogLevel, "debug, info, warn or error")
	f.IntVar(&cfg.MaxSandboxes, "max-sandboxes", cfg.MaxSandboxes, "sandboxes one team may run or keep paused at once")
	f.IntVar(&cfg.RateCallsPerKey, "rate-calls-per-key", cfg.RateCallsPerKey, "API calls (creates apart) one key may make a minute; 0: no limit")
	f.IntVar(&cfg.RateCallsPerTeam, "rate-calls-per-team", cfg.RateCallsPerTeam, "API calls (creates apart) one team's keys may make a minute; 0: no limit")
	f.IntVar(&cfg.RateCreatesPerKey, "rate-creates-per-key", cfg.RateCreatesPerKey, "sandbox creates one key may make a minute; 0: no limit")
	f.IntVar(&cfg.AuditRetentionDays, "audit-retention-days", cfg.AuditRetentionDays, "days audit entries are kept; 0 keeps them all")
	f.StringVar(&cfg.SecretsKeyFile, "secrets-key-file", cfg.SecretsKeyFile, "file of the key teams' secrets are sealed under, 64 hex digits, mode 0600 (default <data-dir>/secrets.key, made at first start)")
	f.StringVar(&cfg.OIDC.Issuer, "oidc-issuer", cfg.OIDC.Issuer, "OpenID Connect issuer URL members sign in with (POST /auth/oidc/token); off when empty")
	f.StringVar(&cfg.OIDC.ClientID, "oidc-client-id", cfg.OIDC.ClientID, "this server's client id at the OIDC issuer: the audience its ID tokens must name")
	f.StringVar(&cfg.OIDC.AllowedDomains, "oidc-allowed-domains", cfg.OIDC.AllowedDomains, "comma-separated email domains that may sign in with OIDC (default any)")
	f.BoolVar(&cfg.OIDC.AllowUnverifiedEmail, "oidc-allow-unverified-email", cfg.OIDC.AllowUnverifiedEmail, "accept OIDC ID tokens without the email_verified claim, for an issuer that never sends it (default: refused)")
	f.IntVar(&cfg.RateCreatesPerTeam, "rate-creates-per-team", cfg.RateCreatesPerTeam, "sandbox creates one team's keys may make a minute; 0: no limit")
	f.IntVar(&cfg.PoolMin, "pool-min", cfg.PoolMin, "warm pool of the default template: fewest sandboxes kept ready")
	f.IntVar(&cfg.PoolMax, "pool-max", cfg.PoolMax, "warm pool of the default template: most sandboxes kept ready (0: none)")
	f.IntVar(&cfg.PoolMemoryMiB, "pool-memory", cfg.PoolMemoryMiB, "warm pool: MiB pooled sandboxes may hold (default an eighth of the host's memory)")
	f.StringVar(&cfg.TLS.Mode, "tls", cfg.TLS.Mode, "off, self-signed (a local CA in <data-dir>/tls) or acme (default off, or files with --tls-cert)")
	f.StringVar(&cfg.TLS.CertFile, "tls-cert", cfg.TLS.CertFile, "PEM certificate chain for the API host and *.<domain>")
	f.StringVar(&cfg.TLS.KeyFile, "tls-key", cfg.TLS.KeyFile, "PEM private key of --tls-cert")
	f.StringVar(&cfg.HTTPSListen, "https-listen", cfg.HTTPSListen, "with TLS, also serve API and sandbox hosts here (default <listen host>:443; off for none)")
	f.StringVar(&cfg.DashboardListen, "dashboard-listen", cfg.DashboardListen, "serve the web dashboard only here (host:port), not on --listen (default: on --listen)")
	f.StringVar(&cfg.TLS.ACMEDirectory, "acme-directory", cfg.TLS.ACMEDirectory, "ACME directory URL for --tls=acme (default Let's Encrypt)")
	f.StringVar(&cfg.TLS.ACMEEmail, "acme-email", cfg.TLS.ACMEEmail, "contact email of the ACME account")
	f.StringVar(&cfg.TLS.ACMECAFile, "acme-ca", cfg.TLS.ACMECAFile, "PEM roots the ACME directory's own certificate chains to (a private ACME server)")
	f.DurationVar(&cfg.MetricsRetention, "metrics-retention", cfg.MetricsRetention, "how long the per-sandbox metric history is kept")
	f.DurationVar(&cfg.MetricsDownsampleAfter, "metrics-downsample-after", cfg.MetricsDownsampleAfter, "age past which 5 s metric samples are merged into buckets")
	f.DurationVar(&cfg.MetricsBucket, "metrics-bucket", cfg.MetricsBucket, "width of a downsampled metric bucket")
	f.StringVar(&cfg.NodeListen, "node-listen", cfg.NodeListen, "address of the node listener (mutual TLS) `soulbox node` hosts join; empty: none")
	f.StringVar(&cfg.NodeListenNames, "node-listen-names", cfg.NodeListenNames, "further DNS names or addresses, comma-separated, the node listener's certificate holds (the name nodes dial it by, e.g. a Kubernetes Service's)")
	f.DurationVar(&cfg.NodeHeartbeatTimeout, "node-heartbeat-timeout", cfg.NodeHeartbeatTimeout, "how long a joined node may miss heartbeats before it is unhealthy")
	f.DurationVar(&cfg.NodeLease, "node-lease", cfg.NodeLease, "how long a joined node may be silent before its sandboxes are ended as lost (longer than --node-heartbeat-timeout)")
	f.DurationVar(&cfg.NodeCertLifetime, "node-cert-lifetime", cfg.NodeCertLifetime, "how long joined nodes' certificates live; each is renewed once less than a third remains (at least three --node-heartbeat-timeout)")
	f.IntVar(&cfg.ReadyMinFreeMB, "ready-min-free-mb", cfg.ReadyMinFreeMB, "GET /ready fails when the data dir's filesystem has less free MiB (0: no check)")
	f.IntVar(&cfg.PausedDiskMB, "paused-disk-mb", cfg.PausedDiskMB, "the most MiB the checkpoints of sandboxes paused with their memory may take together (0: unlimited)")
	f.IntVar(&cfg.SnapshotDiskMB, "snapshot-disk-mb", cfg.SnapshotDiskMB, "the most MiB the layers of all snapshots may take together (0: unlimited)")
	objectFlags(cmd, &cfg.Objects)
	f.StringVar(&cfg.EmbeddedNode, "embedded-node", cfg.EmbeddedNode, "on: this server runs sandboxes too; off: a control plane only, its sandboxes on joined nodes (needs --node-listen; with PostgreSQL several run at once as replicas)")
	f.StringVar(&cfg.KeysDir, "keys-dir", cfg.KeysDir, "directory of the keys control-plane replicas share: audit.key, token.key, secrets.key, node-ca/ (default the data dir)")
	f.IntVar(&cfg.SandboxStateDiskMB, "sandbox-state-disk-mb", cfg.SandboxStateDiskMB, "the most MiB one sandbox's paused state and snapshots may take together (0: unlimited)")
	f.BoolVar(&cfg.Metrics, "metrics", cfg.Metrics, "record Prometheus metrics and serve them on /metrics, without a key (--metrics=false: no endpoint)")
	f.BoolVar(&cfg.MetricsTeamLabels, "metrics-team-labels", cfg.MetricsTeamLabels, "add each team's live sandboxes, CPUs and memory to /metrics, labelled by team id (the endpoint takes no key)")
	f.BoolVar(&cfg.MCP, "mcp", cfg.MCP, "also serve MCP (streamable HTTP) on /mcp, authenticated with the API keys")
	f.StringVar(&cfg.PoolTemplates, "pool-templates", cfg.PoolTemplates, "warm pool: other templates' pool bounds, name=min:max,... (the template API's bounds win)")
	f.StringVar(&cfg.PoolDefault, "pool-default", cfg.PoolDefault, "warm pool: min:max for every template neither --pool-templates nor the API bounds (default none pooled)")
	f.StringVar(&cfg.PoolPrewarm, "pool-prewarm", cfg.PoolPrewarm, "warm pool: interpreter languages started ahead, comma-separated, or none")
	f.StringVar(&cfg.Network, "network", cfg.Network, "sandbox networking: on (internet through NAT, DNS, egress policies) or off (loopback only)")
	f.StringVar(&cfg.NetworkPool, "network-pool", cfg.NetworkPool, "IPv4 range sandbox links are cut from, a /30 each (default: a private /16 no host route overlaps)")
	f.StringVar(&cfg.NetworkUplink, "network-uplink", cfg.NetworkUplink, "interface sandbox traffic leaves by, masqueraded (default: the default route's)")
	f.BoolVar(&cfg.NetworkPrivateOut, "network-private-out", cfg.NetworkPrivateOut, "let sandboxes reach private IPv4 ranges (10/8, 172.16/12, 192.168/16, 100.64/10, 198.18/15) through the uplink without allowOut naming them")
	f.StringVar(&cfg.NetworkDNS, "network-dns", cfg.NetworkDNS, "resolver sandbox DNS is forwarded to, ip[:port] (default: the first nameserver of /etc/resolv.conf)")
	f.IntVar(&cfg.NetworkEgressMbps, "network-egress-mbps", cfg.NetworkEgressMbps, "cap on what each sandbox sends, Mbit/s, and the most a create may ask for (0: unlimited)")
	f.IntVar(&cfg.NetworkIngressMbps, "network-ingress-mbps", cfg.NetworkIngressMbps, "cap on what each sandbox receives, Mbit/s, and the most a create may ask for (0: unlimited)")
	f.IntVar(&cfg.NetworkMaxConnections, "network-max-connections", cfg.NetworkMaxConnections, "cap on each sandbox's concurrent outbound TCP connections, and the most a create may ask for (0: unlimited)")
	f.BoolVar(&cfg.PublicTraffic, "public-traffic", cfg.PublicTraffic, "sandbox ports reachable without the traffic access token unless a create says otherwise (E2B's default; --public-traffic=false for shared hosts)")
	return cmd
}
