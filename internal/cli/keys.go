package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/soulbox/soulbox/internal/auth"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/server"
	"github.com/soulbox/soulbox/internal/store/backend"
)

// newKeysCmd manages API keys in the server's store; it is an admin tool
// for the server's host (the store is SQLite in the data dir, shared safely
// with a running server through WAL, or the PostgreSQL database --store
// names).
func newKeysCmd() *cobra.Command {
	cfg := server.Defaults().FromEnv(os.Getenv)
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "Create, list and revoke the server's API keys (on the server's host)",
		Example: `  sudo soulbox keys create ci --team ci
  sudo soulbox keys list --json
  sudo soulbox keys revoke key_0123456789abcdef`,
	}
	cmd.PersistentFlags().StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "the server's data directory")
	cmd.PersistentFlags().StringVar(&cfg.Store, "store", cfg.Store, "the server's postgres:// store URL (default: SQLite in the data dir)")
	cmd.PersistentFlags().BoolVar(&asJSON, "json", false, "print JSON")

	create := &cobra.Command{
		Use:     "create NAME",
		Short:   "Create an API key; it is printed once and only its hash is kept",
		Example: "  sudo soulbox keys create ci --team ci",
		Args:    cobra.ExactArgs(1),
	}
	team := create.Flags().String("team", auth.DefaultTeam, "team that owns the key's sandboxes")
	// --admin is refused rather than accepted and ignored: every key acts
	// on its own team's sandboxes and nothing more, so an "admin" key
	// would promise rights it does not have. The flag stays (hidden) so
	// that scripts using it learn why instead of "unknown flag".
	admin := create.Flags().Bool("admin", false, "refused: keys have no admin rights")
	_ = create.Flags().MarkHidden("admin")
	create.RunE = func(c *cobra.Command, args []string) error {
		if *admin {
			return fmt.Errorf("--admin: an admin key would have no more rights than a team key (every key acts on its own team's sandboxes), so none is made; create a key with --team instead: %w", errdefs.ErrInvalidArgument)
		}
		st, err := backend.Open(c.Context(), cfg.Store, cfg.DataDir)
		if err != nil {
			return err
		}
		defer st.Close()
		key, k, err := auth.Create(c.Context(), st, args[0], *team, false)
		if err != nil {
			return err
		}
		if asJSON {
			return json.NewEncoder(c.OutOrStdout()).Encode(map[string]any{"id": k.ID, "name": k.Name, "team": k.Team, "key": key})
		}
		fmt.Fprintf(c.OutOrStdout(), "%s\n", key)
		fmt.Fprintf(c.ErrOrStderr(), "key %s (%s) for team %s: shown once, store it now\n", k.ID, k.Name, k.Team)
		return nil
	}

	list := &cobra.Command{
		Use:     "list",
		Short:   "List API keys (never the keys themselves)",
		Example: "  sudo soulbox keys list",
		Args:    cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			st, err := backend.Open(c.Context(), cfg.Store, cfg.DataDir)
			if err != nil {
				return err
			}
			defer st.Close()
			keys, err := st.ListAPIKeys(c.Context())
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(c.OutOrStdout()).Encode(keys)
			}
			w := c.OutOrStdout()
			fmt.Fprintf(w, "%-22s %-24s %-12s %-10s %-6s %-20s %s\n", "ID", "NAME", "PREFIX", "TEAM", "ADMIN", "CREATED", "REVOKED")
			for _, k := range keys {
				revoked := "-"
				if k.RevokedAt != nil {
					revoked = k.RevokedAt.Format(time.DateTime)
				}
				fmt.Fprintf(w, "%-22s %-24s %-12s %-10s %-6t %-20s %s\n", k.ID, k.Name, k.Prefix+"…", k.Team, k.Admin, k.CreatedAt.Format(time.DateTime), revoked)
			}
			return nil
		},
	}

	revoke := &cobra.Command{
		Use:     "revoke ID...",
		Short:   "Revoke API keys: requests with them are refused from now on",
		Example: "  sudo soulbox keys revoke key_0123456789abcdef",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			st, err := backend.Open(c.Context(), cfg.Store, cfg.DataDir)
			if err != nil {
				return err
			}
			defer st.Close()
			for _, id := range args {
				if err := st.RevokeAPIKey(c.Context(), id, time.Now()); err != nil {
					return err
				}
				fmt.Fprintf(c.ErrOrStderr(), "revoked %s\n", id)
			}
			return nil
		},
	}
	cmd.AddCommand(create, list, revoke)
	return cmd
}
