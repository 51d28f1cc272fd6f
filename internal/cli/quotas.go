package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/soulbox/soulbox/internal/server"
	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/sqlite"
	"github.com/soulbox/soulbox/internal/tenancy"
)

// quotaOut is a team's quota and usage as `soulbox quotas --json` prints
// it, in the API's field names (GET /admin/teams/{teamID}/quota).
type quotaOut struct {
	TeamID          string        `json:"teamID"`
	Quota           quotaLimitOut `json:"quota"`
	Usage           quotaUseOut   `json:"usage"`
	BuildWindowDays int           `json:"buildWindowDays"`
}

// quotaLimitOut is a team's limits as the API names them.
type quotaLimitOut struct {
	tenancy.Usage
	DiskBytes    int64 `json:"diskBytes"`
	BuildMinutes int   `json:"buildMinutes"`
}

// quotaUseOut is what a team uses as the API names it.
type quotaUseOut struct {
	tenancy.Usage
	DiskBytes    int64   `json:"diskBytes"`
	BuildMinutes float64 `json:"buildMinutes"`
}

// newQuotasCmd shows and sets team quotas in the local server's store,
// like `teams`; remote admins use /admin/teams/{teamID}/quota.
func newQuotasCmd() *cobra.Command {
	cfg := server.Defaults().FromEnv(os.Getenv)
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "quotas",
		Short: "Show and set team quotas: live sandboxes, total vCPUs and memory, template disk, build minutes (on the server's host)",
		Example: `  sudo soulbox quotas show team_0123456789abcdef --json
  sudo soulbox quotas set team_0123456789abcdef --sandboxes 10 --cpus 16 --memory-mb 32768 --disk-bytes 10737418240 --build-minutes 600`,
	}
	cmd.PersistentFlags().StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "the server's data directory")
	cmd.PersistentFlags().StringVar(&cfg.KeysDir, "keys-dir", cfg.KeysDir, "the server's keys dir, where audit.key is (default the data dir)")
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
		bu, err := tenancy.TeamBuildUsage(c.Context(), st, team, time.Now())
		if err != nil {
			return err
		}
		q := tm.Quota
		out := quotaOut{TeamID: team,
			Quota: quotaLimitOut{Usage: tenancy.Usage{Sandboxes: q.Sandboxes, CPUs: q.CPUs, MemoryMB: q.MemoryMB},
				DiskBytes: q.DiskBytes, BuildMinutes: q.BuildMinutes},
			Usage:           quotaUseOut{Usage: u, DiskBytes: bu.DiskBytes, BuildMinutes: bu.Minutes()},
			BuildWindowDays: int(store.BuildWindow / (24 * time.Hour))}
		if asJSON {
			return json.NewEncoder(c.OutOrStdout()).Encode(out)
		}
		limit := func(n int64) string {
			if n == 0 {
				return "none"
			}
			return fmt.Sprint(n)
		}
		w := c.OutOrStdout()
		fmt.Fprintf(w, "%-22s %12s %12s\n", "", "USED", "LIMIT")
		fmt.Fprintf(w, "%-22s %12d %12s\n", "sandboxes", u.Sandboxes, limit(int64(q.Sandboxes)))
		fmt.Fprintf(w, "%-22s %12d %12s\n", "vCPUs", u.CPUs, limit(int64(q.CPUs)))
		fmt.Fprintf(w, "%-22s %12d %12s\n", "memory MiB", u.MemoryMB, limit(int64(q.MemoryMB)))
		fmt.Fprintf(w, "%-22s %12d %12s\n", "template disk bytes", bu.DiskBytes, limit(q.DiskBytes))
		fmt.Fprintf(w, "%-22s %12.2f %12s\n", fmt.Sprintf("build min (%d days)", out.BuildWindowDays), bu.Minutes(), limit(int64(q.BuildMinutes)))
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
	var given store.Quota
	set := &cobra.Command{
		Use:   "set TEAM",
		Short: "Change the limits given of a team's quota (0: no limit), keeping the others; live sandboxes over it keep running",
		Example: `  soulbox quotas set acme --sandboxes 20 --memory-mb 65536
  soulbox quotas set acme --build-minutes 0   # lifts that limit only`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			auditKey, err := hostAuditKey(cfg)
			if err != nil {
				return err
			}
			st, err := sqlite.Open(c.Context(), filepath.Join(cfg.DataDir, "soulbox.db"))
			if err != nil {
				return err
			}
			defer st.Close()
			// Only the flags given change: a limit not named on the
			// command line is not lifted by the omission.
			tm, err := st.GetTeam(c.Context(), args[0])
			if err != nil {
				return err
			}
			q := tm.Quota
			for name, v := range map[string]func(){
				"sandboxes":     func() { q.Sandboxes = given.Sandboxes },
				"cpus":          func() { q.CPUs = given.CPUs },
				"memory-mb":     func() { q.MemoryMB = given.MemoryMB },
				"disk-bytes":    func() { q.DiskBytes = given.DiskBytes },
				"build-minutes": func() { q.BuildMinutes = given.BuildMinutes },
			} {
				if c.Flags().Changed(name) {
					v()
				}
			}
			if err := st.SetTeamQuota(c.Context(), args[0], q); err != nil {
				return err
			}
			if err := recordHost(c.Context(), st, auditKey, args[0], "quotas set",
				fmt.Sprintf("%s sandboxes=%d cpus=%d memoryMB=%d diskBytes=%d buildMinutes=%d", args[0], q.Sandboxes, q.CPUs, q.MemoryMB, q.DiskBytes, q.BuildMinutes)); err != nil {
				return err
			}
			return print(c, st, args[0])
		},
	}
	set.Flags().IntVar(&given.Sandboxes, "sandboxes", 0, "live sandboxes at once (0: no limit; not given: unchanged)")
	set.Flags().IntVar(&given.CPUs, "cpus", 0, "total vCPUs of live sandboxes (0: no limit; not given: unchanged)")
	set.Flags().IntVar(&given.MemoryMB, "memory-mb", 0, "total memory of live sandboxes in MiB (0: no limit; not given: unchanged)")
	set.Flags().Int64Var(&given.DiskBytes, "disk-bytes", 0, "bytes the team's templates and snapshots may occupy (0: no limit; not given: unchanged)")
	set.Flags().IntVar(&given.BuildMinutes, "build-minutes", 0, "minutes of building per 30 days (0: no limit; not given: unchanged)")
	cmd.AddCommand(show, set)
	return cmd
}
