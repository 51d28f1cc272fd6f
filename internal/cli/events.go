package cli

import (
	"encoding/json"
	"fmt"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/soulbox/soulbox/internal/client"
)

func newEventsCmd() *cobra.Command {
	c := &conn{}
	var (
		follow bool
		after  int64
	)
	cmd := &cobra.Command{
		Use:   "events",
		Short: "Print your team's sandbox lifecycle events (created, started, paused, resumed, ended with its reason)",
		Example: `  soulbox events
  soulbox events --follow
  soulbox events --follow --after 1234   # resume after the event with id 1234
  soulbox events --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if after < 0 {
				return fmt.Errorf("--after %d: want the id of an event, or 0 for all", after)
			}
			cl, err := c.client()
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			out := cmd.OutOrStdout()
			return cl.Events(ctx, after, follow, func(ev client.Event) error {
				if c.json {
					b, err := json.Marshal(ev)
					if err != nil {
						return err
					}
					_, err = fmt.Fprintf(out, "%s\n", b)
					return err
				}
				what := ev.Type
				if ev.Reason != "" {
					what += " (" + ev.Reason + ")"
				}
				line := fmt.Sprintf("%-8d %s  %s  %s", ev.ID, ev.Timestamp.Local().Format(time.RFC3339), ev.SandboxID, what)
				if ev.Message != "" {
					line += "  " + ev.Message
				}
				_, err := fmt.Fprintln(out, line)
				return err
			})
		},
	}
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing events as they happen")
	cmd.Flags().Int64Var(&after, "after", 0, "print only events after the one with this id (resume)")
	c.flags(cmd)
	return cmd
}
