package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/soulbox/soulbox/internal/audit"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/server"
	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/backend"
)

// newAuditCmd reads and checks the audit log in the local server's
// store, like `keys`; remote readers use GET /audit.
func newAuditCmd() *cobra.Command {
	cfg := server.Defaults().FromEnv(os.Getenv)
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "List, export and verify the audit log (on the server's host)",
		Example: `  sudo soulbox audit list --since 24h --team team_0123456789abcdef
  sudo soulbox audit export > audit.jsonl
  sudo soulbox audit verify`,
	}
	cmd.PersistentFlags().StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "the server's data directory")
	cmd.PersistentFlags().StringVar(&cfg.KeysDir, "keys-dir", cfg.KeysDir, "the server's keys dir, where audit.key is (default the data dir)")
	cmd.PersistentFlags().StringVar(&cfg.Store, "store", cfg.Store, "the server's postgres:// store URL (default: SQLite in the data dir)")
	cmd.PersistentFlags().BoolVar(&asJSON, "json", false, "print JSON")

	var since, team, expectHead string
	// each calls fn with every entry selected, oldest first, page by page.
	each := func(c *cobra.Command, fn func(store.AuditEntry) error) error {
		var f store.AuditFilter
		if since != "" {
			if d, err := time.ParseDuration(since); err == nil && d >= 0 {
				f.Since = time.Now().Add(-d)
			} else if t, err := time.Parse(time.RFC3339, since); err == nil {
				f.Since = t
			} else {
				return fmt.Errorf("--since %q: want an RFC 3339 time or a duration such as 24h: %w", since, errdefs.ErrInvalidArgument)
			}
		}
		f.Team = team
		st, err := backend.Open(c.Context(), cfg.Store, cfg.DataDir)
		if err != nil {
			return err
		}
		defer st.Close()
		for {
			page, err := st.ListAudit(c.Context(), f)
			if err != nil {
				return err
			}
			for _, e := range page {
				if err := fn(e); err != nil {
					return err
				}
			}
			if len(page) < 1000 {
				return nil
			}
			f.AfterID = page[len(page)-1].ID
		}
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List audit entries, oldest first",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if asJSON {
				out := []store.AuditEntry{}
				if err := each(c, func(e store.AuditEntry) error { out = append(out, e); return nil }); err != nil {
					return err
				}
				return json.NewEncoder(c.OutOrStdout()).Encode(out)
			}
			w := c.OutOrStdout()
			fmt.Fprintf(w, "%-6s %-24s %-22s %-12s %-4s %-40s %s\n", "ID", "TIME", "TEAM", "KEY", "CODE", "ACTION", "TARGET")
			return each(c, func(e store.AuditEntry) error {
				_, err := fmt.Fprintf(w, "%-6d %-24s %-22s %-12s %-4d %-40s %s\n", e.ID, e.Time.Format(time.RFC3339), e.Team, e.KeyPrefix, e.Status, e.Action, e.Target)
				return err
			})
		},
	}
	export := &cobra.Command{
		Use:   "export",
		Short: "Write audit entries as JSON lines",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			enc := json.NewEncoder(c.OutOrStdout())
			return each(c, func(e store.AuditEntry) error { return enc.Encode(e) })
		},
	}
	for _, sub := range []*cobra.Command{list, export} {
		sub.Flags().StringVar(&since, "since", "", "entries since an RFC 3339 time or a duration ago (24h)")
		sub.Flags().StringVar(&team, "team", "", "one team's entries")
	}
	verify := &cobra.Command{
		Use:   "verify",
		Short: "Check the audit log's hash chain; fails naming the first broken entry",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			st, err := backend.Open(c.Context(), cfg.Store, cfg.DataDir)
			if err != nil {
				return err
			}
			defer st.Close()
			key, err := hostAuditKey(cfg)
			if err != nil {
				return err
			}
			res, err := audit.Verify(c.Context(), st, key)
			if err != nil {
				return err
			}
			if res.OK() && expectHead != "" {
				if res.Problem, err = audit.ExpectHead(c.Context(), st, res, expectHead); err != nil {
					return err
				}
			}
			if asJSON {
				if err := json.NewEncoder(c.OutOrStdout()).Encode(map[string]any{"ok": res.OK(), "entries": res.Entries,
					"headID": res.HeadID, "head": res.Head, "badID": res.BadID, "problem": res.Problem}); err != nil {
					return err
				}
			}
			if !res.OK() {
				return fmt.Errorf("audit log broken after %d good entries: %s: %w", res.Entries, res.Problem, errdefs.ErrFailedPrecondition)
			}
			if !asJSON {
				fmt.Fprintf(c.OutOrStdout(), "ok: %d entries, head %d:%s (record it elsewhere; --expect-head %d:%s later finds entries cut from the end)\n",
					res.Entries, res.HeadID, res.Head, res.HeadID, res.Head)
			}
			return nil
		},
	}
	verify.Flags().StringVar(&expectHead, "expect-head", "", "a head printed by an earlier verify (ID:hash or hash): fail unless the log still holds it")
	cmd.AddCommand(list, export, verify)
	return cmd
}
