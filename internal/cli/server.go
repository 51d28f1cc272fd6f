package cli

import (
	"os"

	"github.com/spf13/cobra"

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
SOULBOX_AGENT_PATH, SOULBOX_DEBIAN_MIRROR, SOULBOX_LOG_LEVEL. Flags win.`,
		Example: `  sudo soulbox server
  sudo soulbox server --listen 0.0.0.0:3000 --data-dir /srv/soulbox`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cfg.Validate(); err != nil {
				return err
			}
			log := newLogger(cfg.Level())
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
	f.StringVar(&cfg.TemplatesDir, "templates-dir", cfg.TemplatesDir, "template cache (default <data-dir>/templates)")
	f.StringVar(&cfg.Domain, "domain", cfg.Domain, "domain of sandbox hosts, <port>-<id>.<domain>")
	f.StringVar(&cfg.Runtime, "runtime", cfg.Runtime, "OCI runtime: runc, crun or runsc (default: fastest the host supports)")
	f.StringVar(&cfg.AgentPath, "agent", cfg.AgentPath, "soulbox-agent binary (default: next to this binary)")
	f.StringVar(&cfg.DebianMirror, "debian-mirror", cfg.DebianMirror, "Debian mirror the base template is built from")
	f.StringVar(&cfg.RegistryMirrors, "registry-mirrors", cfg.RegistryMirrors, "registry mirrors tried first for Docker Hub images in template builds, comma-separated URLs")
	f.StringVar(&cfg.LogLevel, "log-level", cfg.LogLevel, "debug, info, warn or error")
	f.IntVar(&cfg.MaxSandboxes, "max-sandboxes", cfg.MaxSandboxes, "sandboxes one team may run or keep paused at once")
	f.IntVar(&cfg.PoolMin, "pool-min", cfg.PoolMin, "warm pool of the default template: fewest sandboxes kept ready")
	f.IntVar(&cfg.PoolMax, "pool-max", cfg.PoolMax, "warm pool: most sandboxes kept ready (0 turns the pool off)")
	f.IntVar(&cfg.PoolMemoryMiB, "pool-memory", cfg.PoolMemoryMiB, "warm pool: MiB pooled sandboxes may hold (default an eighth of the host's memory)")
	f.StringVar(&cfg.PoolPrewarm, "pool-prewarm", cfg.PoolPrewarm, "warm pool: interpreter languages started ahead, comma-separated, or none")
	return cmd
}
