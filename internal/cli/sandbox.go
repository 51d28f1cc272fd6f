package cli

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/soulbox/soulbox/internal/client"
)

func newSandboxCmd() *cobra.Command {
	c := &conn{}
	cmd := &cobra.Command{
		Use:     "sandbox",
		Aliases: []string{"sb"},
		Short:   "Create, list, pause, resume, inspect and kill sandboxes on a SoulBox server",
		Example: `  soulbox sandbox create --template base --timeout 10m
  soulbox sandbox list --json
  soulbox sandbox kill --all`,
	}
	c.flags(cmd)
	cmd.AddCommand(newSandboxCreateCmd(c), newSandboxListCmd(c), newSandboxKillCmd(c),
		newSandboxPauseCmd(c), newSandboxResumeCmd(c), newSandboxMetricsCmd(c), newSandboxLogsCmd(c),
		newSandboxConnectCmd(c), newSandboxKillProcessesCmd(c))
	return cmd
}

func newSandboxCreateCmd(c *conn) *cobra.Command {
	var o client.CreateOptions
	var memory string
	var metadata []string
	cmd := &cobra.Command{
		Use:     "create",
		Short:   "Create a sandbox and print its id",
		Example: "  soulbox sandbox create --template base --cpu 2 --memory 1GB --timeout 10m --metadata app=demo",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := c.client()
			if err != nil {
				return err
			}
			if o.MemoryMB, err = parseMemory(memory); err != nil {
				return err
			}
			if o.Metadata, err = parsePairs(metadata); err != nil {
				return err
			}
			sb, err := cl.Create(cmd.Context(), o)
			if err != nil {
				return err
			}
			if c.json {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(sb)
			}
			fmt.Fprintln(cmd.OutOrStdout(), sb.SandboxID)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Template, "template", "base", "template to start from")
	f.IntVar(&o.CPUCount, "cpu", 0, "CPUs (default: the server's)")
	f.StringVar(&memory, "memory", "", "memory, e.g. 512MB or 1GB (default: the server's)")
	f.DurationVar(&o.Timeout, "timeout", 0, "lifetime, e.g. 10m (default 5m)")
	f.StringArrayVar(&metadata, "metadata", nil, "key=value, repeatable")
	return cmd
}

func newSandboxListCmd(c *conn) *cobra.Command {
	var o client.ListOptions
	var metadata []string
	var state string
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List sandboxes",
		Example: "  soulbox sandbox list --state running --metadata app=demo --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := c.client()
			if err != nil {
				return err
			}
			if o.Metadata, err = parsePairs(metadata); err != nil {
				return err
			}
			if state != "" {
				o.States = strings.Split(state, ",")
			}
			list, err := cl.List(cmd.Context(), o)
			if err != nil {
				return err
			}
			if c.json {
				if list == nil {
					list = []client.Sandbox{}
				}
				return json.NewEncoder(cmd.OutOrStdout()).Encode(list)
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "%-22s %-10s %-8s %-4s %-7s %-20s %s\n", "ID", "TEMPLATE", "STATE", "CPU", "MEM MB", "ENDS", "METADATA")
			for _, sb := range list {
				fmt.Fprintf(w, "%-22s %-10s %-8s %-4d %-7d %-20s %s\n", sb.SandboxID, sb.TemplateID, sb.State, sb.CPUCount, sb.MemoryMB,
					sb.EndAt.Local().Format(time.DateTime), formatPairs(sb.Metadata))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&state, "state", "", "running, paused, or both separated by a comma")
	cmd.Flags().StringArrayVar(&metadata, "metadata", nil, "key=value the sandboxes must have, repeatable")
	return cmd
}

func newSandboxKillCmd(c *conn) *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:     "kill ID... | --all",
		Short:   "Kill sandboxes",
		Example: "  soulbox sandbox kill i0123456789abcdefghi\n  soulbox sandbox kill --all",
		RunE: func(cmd *cobra.Command, args []string) error {
			if all == (len(args) > 0) {
				return fmt.Errorf("name sandboxes to kill, or pass --all")
			}
			cl, err := c.client()
			if err != nil {
				return err
			}
			if all {
				list, err := cl.List(cmd.Context(), client.ListOptions{})
				if err != nil {
					return err
				}
				for _, sb := range list {
					args = append(args, sb.SandboxID)
				}
			}
			for _, id := range args {
				if err := cl.Kill(cmd.Context(), id); err != nil {
					return fmt.Errorf("kill %s: %w", id, err)
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "killed %s\n", id)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "kill every sandbox of the key's team")
	return cmd
}
