// Package cli is the `soulbox` command: the server, and the tools people
// use at a terminal. Each command lives in its own file; main only runs
// NewRoot.
package cli

import (
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/soulbox/soulbox/internal/version"
)

// NewRoot returns the root `soulbox` command.
func NewRoot() *cobra.Command {
	root := &cobra.Command{
		Use:     "soulbox",
		Short:   "Secure, disposable Linux sandboxes for AI agents, compatible with E2B's SDKs",
		Version: version.Version,
		Example: `  sudo soulbox server                      # run the server on this host
  export E2B_API_URL=http://127.0.0.1:3000 E2B_API_KEY=$(sudo cat /var/lib/soulbox/admin.key)
  soulbox sandbox create --template base
  soulbox exec <id> -- python3 -c 'print(42)'
  soulbox sandbox connect <id>`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newServerCmd(), newTemplateCmd(), newKeysCmd(), newTeamsCmd(), newQuotasCmd(), newAuditCmd(), newMembersCmd(), newSandboxCmd(), newExecCmd(), newPsCmd(), newAuthCmd(), newFilesCmd(), newLogsCmd(), newBenchCmd(), newMCPCmd(), newToolsCmd(), newEventsCmd(), newNodeCmd(), newSecretsCmd())
	return root
}

// newLogger is the logger of long-running commands: text on stderr.
func newLogger(level slog.Level) *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}
