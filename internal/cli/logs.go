package cli

import (
	"fmt"
	"strconv"

	"github.com/spf13/cobra"
)

func newLogsCmd() *cobra.Command {
	c := &conn{}
	cmd := &cobra.Command{
		Use:   "logs ID PID",
		Short: "Follow the output of a process running in a sandbox, from now until it ends",
		Example: `  soulbox ps i0123456789abcdefghi
  soulbox logs i0123456789abcdefghi 42`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			pid, err := strconv.ParseUint(args[1], 10, 32)
			if err != nil || pid == 0 {
				return fmt.Errorf("pid %q: want a process id from soulbox ps", args[1])
			}
			cl, sb, err := c.sandbox(cmd, args[0])
			if err != nil {
				return err
			}
			code, err := cl.Attach(cmd.Context(), sb, uint32(pid), cmd.OutOrStdout(), cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "process %d ended with exit code %d\n", pid, code)
			return nil
		},
	}
	c.flags(cmd)
	return cmd
}
