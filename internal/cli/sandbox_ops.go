package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/soulbox/soulbox/internal/client"
	"github.com/soulbox/soulbox/sdk/go/soulbox"
)

func newSandboxPauseCmd(c *conn) *cobra.Command {
	return &cobra.Command{
		Use:     "pause ID",
		Short:   "Freeze a sandbox in memory until it is resumed",
		Example: "  soulbox sandbox pause i0123456789abcdefghi",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := c.client()
			if err != nil {
				return err
			}
			return cl.Pause(cmd.Context(), args[0])
		},
	}
}

func newSandboxResumeCmd(c *conn) *cobra.Command {
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:     "resume ID",
		Short:   "Resume a paused sandbox",
		Example: "  soulbox sandbox resume i0123456789abcdefghi --timeout 30m",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := c.client()
			if err != nil {
				return err
			}
			_, err = cl.Resume(cmd.Context(), args[0], timeout)
			return err
		},
	}
	cmd.Flags().DurationVar(&timeout, "timeout", 0, "keep it alive at least this long (default 5m)")
	return cmd
}

func newSandboxMetricsCmd(c *conn) *cobra.Command {
	var follow bool
	cmd := &cobra.Command{
		Use:     "metrics ID",
		Short:   "Show a sandbox's CPU, memory and disk use over time",
		Example: "  soulbox sandbox metrics i0123456789abcdefghi --json\n  soulbox sandbox metrics i0123456789abcdefghi --follow",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := c.client()
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if !c.json {
				fmt.Fprintf(w, "%-20s %-6s %-8s %-18s %s\n", "TIME", "CPUS", "CPU %", "MEMORY MiB", "DISK MiB")
			}
			var last time.Time
			for first := true; ; first = false {
				ms, err := cl.MetricsSince(cmd.Context(), args[0], last.Truncate(time.Second))
				if err != nil {
					if !first && errors.Is(err, soulbox.ErrNotFound) {
						return nil // the sandbox ended while followed
					}
					if cmd.Context().Err() != nil {
						return nil
					}
					return err
				}
				var fresh []client.Metric
				for _, m := range ms {
					if m.Timestamp.After(last) { // start is inclusive: skip what was printed
						fresh = append(fresh, m)
						last = m.Timestamp
					}
				}
				switch {
				case c.json && !follow:
					return json.NewEncoder(w).Encode(fresh)
				case c.json: // one sample a line, as it comes
					for _, m := range fresh {
						_ = json.NewEncoder(w).Encode(m)
					}
				default:
					for _, m := range fresh {
						fmt.Fprintf(w, "%-20s %-6d %-8.1f %-18s %s\n", m.Timestamp.Local().Format(time.DateTime), m.CPUCount, m.CPUUsedPct,
							fmt.Sprintf("%d/%d", m.MemUsed>>20, m.MemTotal>>20), fmt.Sprintf("%d/%d", m.DiskUsed>>20, m.DiskTotal>>20))
					}
				}
				if !follow {
					return nil
				}
				if len(fresh) == 0 {
					// An ended sandbox's history stays readable, so its
					// end shows on the sandbox itself.
					if _, err := cl.Get(cmd.Context(), args[0]); errors.Is(err, soulbox.ErrNotFound) {
						return nil
					}
				}
				select {
				case <-cmd.Context().Done():
					return nil
				case <-time.After(metricsFollowEvery):
				}
			}
		},
	}
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new samples (one every 5 s) until interrupted or the sandbox ends; with --json one object a line")
	return cmd
}

// metricsFollowEvery is how often --follow asks for new samples: the
// monitor takes one every 5 s.
const metricsFollowEvery = 2 * time.Second

func newSandboxLogsCmd(c *conn) *cobra.Command {
	var follow bool
	cmd := &cobra.Command{
		Use:     "logs ID",
		Short:   "Show a sandbox's lifecycle events and agent log",
		Example: "  soulbox sandbox logs i0123456789abcdefghi --follow",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := c.client()
			if err != nil {
				return err
			}
			var since time.Time
			for {
				entries, err := cl.Logs(cmd.Context(), args[0], since)
				if err != nil {
					return err
				}
				for _, e := range entries {
					if !e.Timestamp.After(since) {
						continue // already printed: start is inclusive
					}
					if c.json {
						_ = json.NewEncoder(cmd.OutOrStdout()).Encode(e)
					} else {
						fmt.Fprintf(cmd.OutOrStdout(), "%s %-5s %s\n", e.Timestamp.Local().Format(time.DateTime), strings.ToUpper(e.Level), e.Message)
					}
					since = e.Timestamp
				}
				if !follow {
					return nil
				}
				select {
				case <-cmd.Context().Done():
					return nil
				case <-time.After(time.Second):
				}
			}
		},
	}
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new entries until interrupted or the sandbox ends")
	return cmd
}

func newPsCmd() *cobra.Command {
	c := &conn{}
	cmd := &cobra.Command{
		Use:     "ps ID",
		Short:   "List the processes started in a sandbox",
		Example: "  soulbox ps i0123456789abcdefghi",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := c.client()
			if err != nil {
				return err
			}
			sb, err := cl.Get(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			ps, err := cl.Processes(cmd.Context(), sb)
			if err != nil {
				return err
			}
			if c.json {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(ps)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%-8s %-12s %s\n", "PID", "TAG", "COMMAND")
			for _, p := range ps {
				fmt.Fprintf(cmd.OutOrStdout(), "%-8d %-12s %s\n", p.Pid, p.Tag, strings.Join(append([]string{p.Cmd}, p.Args...), " "))
			}
			return nil
		},
	}
	c.flags(cmd)
	return cmd
}
