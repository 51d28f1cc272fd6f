package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/soulbox/soulbox/internal/auth"
	"github.com/soulbox/soulbox/internal/authz"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/server"
	"github.com/soulbox/soulbox/internal/store"
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
  sudo soulbox keys create dashboard --team ci --role viewer
  sudo soulbox keys create runner --team ci --scope sandboxes:create,sandboxes:use
  sudo soulbox keys list --json
  sudo soulbox keys revoke key_0123456789abcdef`,
	}
	cmd.PersistentFlags().StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "the server's data directory")
	cmd.PersistentFlags().StringVar(&cfg.KeysDir, "keys-dir", cfg.KeysDir, "the server's keys dir, where audit.key is (default the data dir)")
	cmd.PersistentFlags().StringVar(&cfg.Store, "store", cfg.Store, "the server's postgres:// store URL (default: SQLite in the data dir)")
	cmd.PersistentFlags().BoolVar(&asJSON, "json", false, "print JSON")

	create := &cobra.Command{
		Use:     "create NAME",
		Short:   "Create an API key; it is printed once and only its hash is kept",
		Example: "  sudo soulbox keys create ci --team ci",
		Args:    cobra.ExactArgs(1),
	}
	team := create.Flags().String("team", auth.DefaultTeam, "team that owns the key's sandboxes (made if new)")
	role := create.Flags().String("role", string(store.RoleDeveloper), "the key's role in its team: owner, admin, developer or viewer")
	scopes := create.Flags().StringSlice("scope", nil, "limit the key to these scopes (repeat or comma-separate): "+strings.Join(authz.Scopes(), ", "))
	// --admin is refused rather than accepted and ignored: a server
	// admin is an owner or admin of the built-in team, which --role and
	// --team say. The flag stays (hidden) so that scripts using it learn
	// why instead of "unknown flag".
	admin := create.Flags().Bool("admin", false, "refused: use --team default --role owner")
	_ = create.Flags().MarkHidden("admin")
	create.RunE = func(c *cobra.Command, args []string) error {
		if *admin {
			return fmt.Errorf("--admin: a server admin key is an owner of the built-in team; create one with --team %s --role owner: %w", store.AdminTeam, errdefs.ErrInvalidArgument)
		}
		if !store.Role(*role).Valid() {
			return fmt.Errorf("--role %q: want owner, admin, developer or viewer: %w", *role, errdefs.ErrInvalidArgument)
		}
		for _, sc := range *scopes {
			if !authz.ValidScope(sc) {
				return fmt.Errorf("--scope %q: want some of %s: %w", sc, strings.Join(authz.Scopes(), ", "), errdefs.ErrInvalidArgument)
			}
		}
		auditKey, err := hostAuditKey(cfg)
		if err != nil {
			return err
		}
		st, err := backend.Open(c.Context(), cfg.Store, cfg.DataDir)
		if err != nil {
			return err
		}
		defer st.Close()
		// A key of a team that does not exist is refused, never made with
		// it: a typo would start a team, and a deleted team's id would come
		// back with its old keys' and audit entries' history.
		if _, err := st.GetTeam(c.Context(), *team); errors.Is(err, errdefs.ErrNotFound) {
			return fmt.Errorf("--team %q: no such team (deleted, or never made): make one with `soulbox teams create NAME` and use the id it prints (`soulbox teams list` shows them): %w",
				*team, errdefs.ErrNotFound)
		} else if err != nil {
			return err
		}
		key, k, err := auth.Issue(c.Context(), st, store.APIKey{Name: args[0], Team: *team, Role: store.Role(*role), Scopes: *scopes})
		if err != nil {
			return err
		}
		if err := recordHost(c.Context(), st, auditKey, k.Team, "keys create", k.ID); err != nil {
			return err
		}
		if asJSON {
			return json.NewEncoder(c.OutOrStdout()).Encode(map[string]any{"id": k.ID, "name": k.Name, "team": k.Team, "role": k.Role, "scopes": k.Scopes, "key": key})
		}
		fmt.Fprintf(c.OutOrStdout(), "%s\n", key)
		fmt.Fprintf(c.ErrOrStderr(), "key %s (%s) for team %s, role %s: shown once, store it now\n", k.ID, k.Name, k.Team, k.Role)
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
			fmt.Fprintf(w, "%-22s %-24s %-12s %-22s %-10s %-20s %-20s %s\n", "ID", "NAME", "PREFIX", "TEAM", "ROLE", "CREATED", "REVOKED", "SCOPES")
			for _, k := range keys {
				revoked := "-"
				if k.RevokedAt != nil {
					revoked = k.RevokedAt.Format(time.DateTime)
				}
				fmt.Fprintf(w, "%-22s %-24s %-12s %-22s %-10s %-20s %-20s %s\n", k.ID, k.Name, k.Prefix+"…", k.Team, k.Role, k.CreatedAt.Format(time.DateTime), revoked, strings.Join(k.Scopes, ","))
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
			auditKey, err := hostAuditKey(cfg)
			if err != nil {
				return err
			}
			st, err := backend.Open(c.Context(), cfg.Store, cfg.DataDir)
			if err != nil {
				return err
			}
			defer st.Close()
			keys, err := st.ListAPIKeys(c.Context())
			if err != nil {
				return err
			}
			for _, id := range args {
				if err := st.RevokeAPIKey(c.Context(), id, time.Now()); err != nil {
					return err
				}
				team := ""
				for _, k := range keys {
					if k.ID == id {
						team = k.Team
					}
				}
				if err := recordHost(c.Context(), st, auditKey, team, "keys revoke", id); err != nil {
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
