package cli

import (
	"github.com/spf13/cobra"
)

func newSandboxKillProcessesCmd(c *conn) *cobra.Command {
	return &cobra.Command{
		Use:   "kill-processes ID",
		Short: "Kill every process of a sandbox but its agent; the sandbox and its files stay",
		Long: "Kill every process of a running sandbox but its agent, from the host, and return once\n" +
			"they are gone. Use it when the sandbox's processes fill its limits (a fork bomb's\n" +
			"orphans) and every command fails saying the process limit is reached.",
		Example: "  soulbox sandbox kill-processes i0123456789abcdefghi",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := c.client()
			if err != nil {
				return err
			}
			return cl.KillProcesses(cmd.Context(), args[0])
		},
	}
}
