package cli

import (
	"errors"
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/soulbox/soulbox/internal/client"
)

// exitError carries a command's exit code out of cobra to main.
type exitError struct{ code int }

func (e exitError) Error() string { return "" }

// ExitCode is the process exit code err asks for, and whether it asks.
func ExitCode(err error) (int, bool) {
	var e exitError
	if errors.As(err, &e) {
		return e.code, true
	}
	return 0, false
}

func newExecCmd() *cobra.Command {
	c := &conn{}
	var o client.ExecOptions
	cmd := &cobra.Command{
		Use:   "exec ID -- COMMAND [ARG...]",
		Short: "Run a command in a sandbox, stream its output and exit with its exit code",
		Example: `  soulbox exec i0123456789abcdefghi -- python3 -c 'print(6*7)'
  echo hello | soulbox exec i0123456789abcdefghi -- tr a-z A-Z`,
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := c.client()
			if err != nil {
				return err
			}
			sb, err := cl.Get(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			o.Stdout, o.Stderr = cmd.OutOrStdout(), cmd.ErrOrStderr()
			// Stdin is forwarded when it is not a terminal (piped or a file).
			if _, err := unix.IoctlGetTermios(int(os.Stdin.Fd()), unix.TCGETS); err != nil {
				o.Stdin = cmd.InOrStdin()
			}
			code, err := cl.Exec(cmd.Context(), sb, args[1:], o)
			if err != nil {
				return err
			}
			if code != 0 {
				if code < 0 {
					code = 137 // killed by a signal, as a shell reports SIGKILL
				}
				return exitError{code}
			}
			return nil
		},
	}
	c.flags(cmd)
	cmd.Flags().StringVarP(&o.User, "user", "u", "", "user to run as (default: the sandbox's, user)")
	cmd.Flags().StringVarP(&o.Cwd, "cwd", "w", "", "working directory (default: the user's home)")
	return cmd
}
