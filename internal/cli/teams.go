package cli

import (
	"context"
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

// newTeamsCmd manages teams in the local server's store, like `keys`: an
// admin tool for the server's host. Remote admins use /admin/teams.
func newTeamsCmd() *cobra.Command {
	cfg := server.Defaults().FromEnv(os.Getenv)
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "teams",
		Short: "Create, list, rename and delete teams (on the server's host)",
		Example: `  sudo soulbox teams create "Data science"
  sudo soulbox keys create ds-owner --team team_0123456789abcdef --role owner
  sudo soulbox teams list --json
  sudo soulbox teams delete team_0123456789abcdef`,
	}
	cmd.PersistentFlags().StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "the server's data directory")
	cmd.PersistentFlags().StringVar(&cfg.KeysDir, "keys-dir", cfg.KeysDir, "the server's keys dir, where audit.key is (default the data dir)")
	cmd.PersistentFlags().BoolVar(&asJSON, "json", false, "print JSON")
	open := func(ctx context.Context) (*sqlite.Store, error) {
		return sqlite.Open(ctx, filepath.Join(cfg.DataDir, "soulbox.db"))
	}
	show := func(c *cobra.Command, tm store.Team) error {
		if asJSON {
			return json.NewEncoder(c.OutOrStdout()).Encode(teamOut(tm))
		}
		fmt.Fprintf(c.OutOrStdout(), "%s\t%s\n", tm.ID, tm.Name)
		return nil
	}

	create := &cobra.Command{
		Use:   "create NAME",
		Short: "Create a team; give it an owner with `soulbox keys create --team ID --role owner`",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			auditKey, err := hostAuditKey(cfg)
			if err != nil {
				return err
			}
			st, err := open(c.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			tm, err := tenancy.CreateTeam(c.Context(), st, args[0])
			if err != nil {
				return err
			}
			if err := recordHost(c.Context(), st, auditKey, tm.ID, "teams create", tm.ID); err != nil {
				return err
			}
			return show(c, tm)
		},
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List teams",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			st, err := open(c.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			teams, err := st.ListTeams(c.Context())
			if err != nil {
				return err
			}
			if asJSON {
				out := make([]teamJSON, 0, len(teams))
				for _, tm := range teams {
					out = append(out, teamOut(tm))
				}
				return json.NewEncoder(c.OutOrStdout()).Encode(out)
			}
			w := c.OutOrStdout()
			fmt.Fprintf(w, "%-22s %-32s %s\n", "ID", "NAME", "CREATED")
			for _, tm := range teams {
				fmt.Fprintf(w, "%-22s %-32s %s\n", tm.ID, tm.Name, tm.CreatedAt.Format(time.DateTime))
			}
			return nil
		},
	}
	rename := &cobra.Command{
		Use:   "rename ID NAME",
		Short: "Rename a team",
		Args:  cobra.ExactArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			auditKey, err := hostAuditKey(cfg)
			if err != nil {
				return err
			}
			st, err := open(c.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			if err := st.RenameTeam(c.Context(), args[0], args[1]); err != nil {
				return err
			}
			if err := recordHost(c.Context(), st, auditKey, args[0], "teams rename", args[0]); err != nil {
				return err
			}
			tm, err := st.GetTeam(c.Context(), args[0])
			if err != nil {
				return err
			}
			return show(c, tm)
		},
	}
	del := &cobra.Command{
		Use:   "delete ID",
		Short: "Delete a team without live sandboxes; its keys stop working at once",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			auditKey, err := hostAuditKey(cfg)
			if err != nil {
				return err
			}
			st, err := open(c.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			if err := tenancy.DeleteTeam(c.Context(), st, args[0]); err != nil {
				return err
			}
			// Stored, so that a server started later warms nothing for
			// it; a running server drains its pools only when the team is
			// deleted through its API.
			if _, err := tenancy.ClearTeamPools(c.Context(), st, args[0]); err != nil {
				return err
			}
			if err := recordHost(c.Context(), st, auditKey, args[0], "teams delete", args[0]); err != nil {
				return err
			}
			fmt.Fprintf(c.ErrOrStderr(), "deleted team %s and revoked its keys\n", args[0])
			return nil
		},
	}
	cmd.AddCommand(create, list, rename, del)
	return cmd
}

// teamJSON is a team as `soulbox teams --json` prints it, in the API's
// field names.
type teamJSON struct {
	TeamID    string    `json:"teamID"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"createdAt"`
}

func teamOut(tm store.Team) teamJSON {
	return teamJSON{TeamID: tm.ID, Name: tm.Name, CreatedAt: tm.CreatedAt}
}
