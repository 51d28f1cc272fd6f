package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/soulbox/soulbox/internal/server"
	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/sqlite"
	"github.com/soulbox/soulbox/internal/tenancy"
)

// quotaOut is a team's quota and usage as `soulbox quotas --json` prints
// it, in the API's field names (GET /admin/teams/{teamID}/quota).
type quotaOut struct {
	TeamID string        `json:"teamID"`
	Quota  tenancy.Usage `json:"quota"`
	Usage  tenancy.Usage `json:"usage"`
}

// newQuotasCmd shows and sets team quotas in the local server's store,
// like `teams`; remote admins use /admin/teams/{teamID}/quota.
func newQuotasCmd() *cobra.Command {
	cfg := server.Defaults().FromEnv(os.Getenv)
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "quotas",
		Short: "Show and set team quotas: live sandboxes, total vCPUs and memory (on the server's host)",
		Example: `  sudo soulbox quotas show team_0123456789abcdef --json
  sudo soulbox quotas set team_0123456789abcdef --sandboxes 10 --cpus 16 --memory-mb 32768`,
	}
	cmd.PersistentFlags().StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "the server's data directory")
	cmd.PersistentFlags().BoolVar(&asJSON, "json", false, "print JSON")
	print := func(c *cobra.Command, st *sqlite.Store, team string) error {
		tm, err := st.GetTeam(c.Context(), team)
		if err != nil {
			return err
		}
		u, err := tenancy.TeamUsage(c.Context(), st, team)
		if err != nil {
			return err
		}
		q := tm.Quota
		out := quotaOut{TeamID: team, Quota: tenancy.Usage{Sandboxes: q.Sandboxes, CPUs: q.CPUs, MemoryMB: q.MemoryMB}, Usage: u}
		if asJSON {
			return json.NewEncoder(c.OutOrStdout()).Encode(out)
		}
		limit := func(n int) string {
			if n == 0 {
				return "none"
			}
			return fmt.Sprint(n)
		}
		w := c.OutOrStdout()
		fmt.Fprintf(w, "%-12s %8s %8s\n", "", "USED", "LIMIT")
		fmt.Fprintf(w, "%-12s %8d %8s\n", "sandboxes", u.Sandboxes, limit(q.Sandboxes))
		fmt.Fprintf(w, "%-12s %8d %8s\n", "vCPUs", u.CPUs, limit(q.CPUs))
		fmt.Fprintf(w, "%-12s %8d %8s\n", "memory MiB", u.MemoryMB, limit(q.MemoryMB))
		return nil
	}
	show := &cobra.Command{
		Use:   "show TEAM",
		Short: "Show a team's quota and what its live sandboxes hold",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			st, err := sqlite.Open(c.Context(), filepath.Join(cfg.DataDir, "soulbox.db"))
			if err != nil {
				return err
			}
			defer st.Close()
			return print(c, st, args[0])
		},
	}
	var q store.Quota
	set := &cobra.Command{
		Use:   "set TEAM",
		Short: "Replace a team's quota (0: no limit); live sandboxes over it keep running",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			st, err := sqlite.Open(c.Context(), filepath.Join(cfg.DataDir, "soulbox.db"))
			if err != nil {
				return err
			}
			defer st.Close()
			if err := st.SetTeamQuota(c.Context(), args[0], q); err != nil {
				return err
			}
			if err := recordHost(c.Context(), st, cfg.DataDir, args[0], "quotas set",
				fmt.Sprintf("%s sandboxes=%d cpus=%d memoryMB=%d", args[0], q.Sandboxes, q.CPUs, q.MemoryMB)); err != nil {
				return err
			}
			return print(c, st, args[0])
		},
	}
	set.Flags().IntVar(&q.Sandboxes, "sandboxes", 0, "live sandboxes at once (0: no limit)")
	set.Flags().IntVar(&q.CPUs, "cpus", 0, "total vCPUs of live sandboxes (0: no limit)")
	set.Flags().IntVar(&q.MemoryMB, "memory-mb", 0, "total memory of live sandboxes in MiB (0: no limit)")
	cmd.AddCommand(show, set)
	return cmd
}
