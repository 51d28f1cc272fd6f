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
	cfg := nodeagent.Config{DataDir: "/var/lib/soulbox-node"}
	level := "info"
	tokenFile := ""
	cmd := &cobra.Command{
		Use:   "node",
		Short: "Join this host to a control plane as a node and heartbeat to it",
		Long: `Join this host to a SoulBox control plane (a server started with
--node-listen) and report its capacity every few seconds.

On the first start it makes a key and a certificate request in
<data-dir>/node, dials the control plane trusting only the node CA whose
fingerprint the join token carries, and keeps the client certificate the
control plane signs; later starts need no token and talk mutual TLS only.
On SIGTERM or SIGINT the node reports itself draining and exits.

A node does not run sandboxes for the control plane yet: it is registered,
heartbeats, is listed (GET /nodes), drained (POST /nodes/{nodeID}) and
considered by the scheduler; creates still run on the server's own node.`,
		Example: `  soulbox node --control-plane https://cp.example.com:3443 --join-token-file /etc/soulbox/join-token --data-dir /var/lib/soulbox-node
  printf %s "$TOKEN" | soulbox node --control-plane https://cp.example.com:3443 --join-token-file - --data-dir /var/lib/soulbox-node
  soulbox node --data-dir /var/lib/soulbox-node   # after joining`,
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
	f.StringVar(&cfg.ControlPlane, "control-plane", os.Getenv("SOULBOX_CONTROL_PLANE"), "https URL of the control plane's node listener (first start)")
	f.StringVar(&cfg.JoinToken, "join-token", os.Getenv("SOULBOX_JOIN_TOKEN"), "join token from POST /admin/node-tokens (first start; visible to other users in ps: prefer --join-token-file or SOULBOX_JOIN_TOKEN)")
	f.StringVar(&tokenFile, "join-token-file", "", "file holding the join token, - for stdin (first start)")
	f.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "directory of the node's identity and data")
	f.StringVar(&cfg.Name, "name", cfg.Name, "the node's name (default: this host's name)")
	f.IntVar(&cfg.MaxSandboxes, "max-sandboxes", 0, "sandboxes this node takes at most (0: no bound of its own)")
	f.StringVar(&level, "log-level", level, "debug, info, warn or error")
	return cmd
}
