package cli

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/nodeagent"
)

func newNodeCmd() *cobra.Command {
	cfg := nodeagent.Config{DataDir: "/var/lib/soulbox-node",
		Runtime: nodeagent.RuntimeConfig{Pool: nodeagent.PoolConfig{Min: 1, Max: 16, Prewarm: "python"}}}
	level := "info"
	tokenFile := ""
	cmd := &cobra.Command{
		Use:   "node",
		Short: "Join this host to a control plane as a node, heartbeat and run its sandboxes",
		Long: `Join this host to a SoulBox control plane (a server started with
--node-listen) and report its capacity every few seconds.

On the first start it makes a key and a certificate request in
<data-dir>/node, dials the control plane trusting only the node CA whose
fingerprint the join token carries, and keeps the client certificate the
control plane signs; later starts need no token and talk mutual TLS only.
On SIGTERM or SIGINT the node reports itself draining and exits.

With --listen, the node also runs sandboxes: it hosts a runtime driver
(its own data dir, cgroup parent and sandbox address range, so several
nodes can share a host; the base template built on first start) and
serves the driver's operations to the control plane over mutual TLS with
the serving certificate signed at join; its heartbeats carry the address
the control plane dials (--advertise, default --listen), and the
scheduler places creates on it. Without it, the node only heartbeats.

With the control plane's object storage (--s3-* or SOULBOX_S3_*, as for
the server), the node also starts the templates built on the control
plane: it fetches the layers it lacks from the bucket, verified, into
<data-dir>/layers. Without it, only the base template starts here.`,
		Example: `  soulbox node --control-plane https://cp.example.com:3443 --join-token-file /etc/soulbox/join-token --data-dir /var/lib/soulbox-node
  printf %s "$TOKEN" | soulbox node --control-plane https://cp.example.com:3443 --join-token-file - --data-dir /var/lib/soulbox-node
  soulbox node --data-dir /var/lib/soulbox-node   # after joining
  soulbox node --data-dir /var/lib/soulbox-node --listen 0.0.0.0:3444 --network-pool 10.210.0.0/16`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var l slog.Level
			if err := l.UnmarshalText([]byte(level)); err != nil {
				return err
			}
			cfg.Log = newLogger(l)
			if tokenFile != "" {
				if cmd.Flags().Changed("join-token") {
					return fmt.Errorf("give the join token once: --join-token or --join-token-file, not both: %w", errdefs.ErrInvalidArgument)
				}
			}
			// A joined node needs no token: its file is not read, so a
			// spent token may be gone (a Kubernetes Secret's entry).
			if tokenFile != "" && !nodeagent.Joined(cfg.DataDir) {
				tok, err := readJoinToken(tokenFile, cmd.InOrStdin())
				if err != nil {
					return err
				}
				cfg.JoinToken = tok
			}
			return nodeagent.Run(cmd.Context(), cfg)
		},
	}
	f := cmd.Flags()
	cfg.ControlPlane = os.Getenv("SOULBOX_CONTROL_PLANE")
	f.Var(&urlList{dst: &cfg.ControlPlane}, "control-plane", "https URL of the control plane's node listener; several control-plane replicas: comma-separated or the flag repeated (needed to join; given on a later start, it replaces the list the node keeps)")
	f.StringVar(&cfg.JoinToken, "join-token", os.Getenv("SOULBOX_JOIN_TOKEN"), "join token from POST /admin/node-tokens (first start; visible to other users in ps: prefer --join-token-file or SOULBOX_JOIN_TOKEN)")
	f.StringVar(&tokenFile, "join-token-file", "", "file holding the join token, - for stdin (first start; not read once the node has joined)")
	f.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "directory of the node's identity and data")
	f.StringVar(&cfg.Name, "name", cfg.Name, "the node's name (default: this host's name)")
	f.IntVar(&cfg.MaxSandboxes, "max-sandboxes", 0, "sandboxes this node takes at most (0: no bound of its own)")
	f.StringVar(&cfg.Runtime.Listen, "listen", os.Getenv("SOULBOX_NODE_SERVICE_LISTEN"), "address of the node's sandbox service (mutual TLS); empty: run no sandboxes")
	f.StringVar(&cfg.Runtime.Advertise, "advertise", os.Getenv("SOULBOX_NODE_ADVERTISE"), "host:port the control plane dials for the sandbox service (default: --listen)")
	f.StringVar(&cfg.Runtime.AgentPath, "agent", "", "soulbox-agent binary (default: next to this binary)")
	f.StringVar(&cfg.Runtime.TemplatesDir, "templates-dir", "", "template cache (default: <data-dir>/templates)")
	f.StringVar(&cfg.Runtime.Runtime, "runtime", "", "OCI runtime: runc, crun or runsc (default: the fastest that works here)")
	f.BoolVar(&cfg.Runtime.Compat32, "compat32", false, "let sandboxes make 32-bit (i386, x32) system calls, filtered, so 32-bit programs run (default: such a call kills its thread)")
	f.StringVar(&cfg.Runtime.CgroupParent, "cgroup-parent", "", "cgroup the node's sandboxes go under (default: derived from the data dir)")
	f.StringVar(&cfg.Runtime.Network, "network", "on", "on: each sandbox gets a link, NAT, DNS and egress policy; off: loopback only")
	f.StringVar(&cfg.Runtime.NetworkPool, "network-pool", "", "IPv4 range of the sandboxes' links, one /30 each (default: the first free of 10.200-254.0.0/16)")
	f.StringVar(&cfg.Runtime.NetworkUplink, "network-uplink", "", "interface sandbox traffic leaves by (default: the default route's)")
	f.StringVar(&cfg.Runtime.NetworkDNS, "network-dns", "", "resolver the sandboxes' DNS forwarder asks (default: the host's first nameserver)")
	f.IntVar(&cfg.Runtime.Pool.Min, "pool-min", cfg.Runtime.Pool.Min, "warm pool of the base template: fewest sandboxes kept ready")
	f.IntVar(&cfg.Runtime.Pool.Max, "pool-max", cfg.Runtime.Pool.Max, "warm pool of the base template: most sandboxes kept ready (0: none)")
	f.IntVar(&cfg.Runtime.Pool.MemoryMiB, "pool-memory", cfg.Runtime.Pool.MemoryMiB, "warm pool: MiB pooled sandboxes may hold (default an eighth of the host's memory)")
	f.StringVar(&cfg.Runtime.Pool.Prewarm, "pool-prewarm", cfg.Runtime.Pool.Prewarm, "warm pool: interpreter languages started ahead, comma-separated, or none")
	cfg.Objects = cfg.Objects.FromEnv(os.Getenv)
	objectFlags(cmd, &cfg.Objects)
	f.StringVar(&level, "log-level", level, "debug, info, warn or error")
	return cmd
}

// urlList is a flag of URLs, comma-separated or the flag repeated, kept
// comma-separated in dst; the first use replaces the default.
type urlList struct {
	dst *string
	set bool
}

func (l *urlList) String() string {
	if l.dst == nil {
		return ""
	}
	return *l.dst
}

func (l *urlList) Set(v string) error {
	if l.set && *l.dst != "" {
		*l.dst += "," + v
	} else {
		*l.dst = v
	}
	l.set = true
	return nil
}

func (l *urlList) Type() string { return "urls" }
