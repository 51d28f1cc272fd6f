package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/soulbox/soulbox/internal/client"
)

// newMembersCmd manages a team's members through the server's API
// (/teams/{teamID}/members), as its owners and admins do.
func newMembersCmd() *cobra.Command {
	c := &conn{}
	var team string
	cmd := &cobra.Command{
		Use:   "members",
		Short: "List, add, change the role of and remove a team's members (users who sign in with OIDC)",
		Example: `  soulbox members list
  soulbox members add ada@example.com --role admin
  soulbox members set-role ada@example.com viewer
  soulbox members remove ada@example.com --team team_0123456789abcdef --json`,
	}
	c.flags(cmd)
	cmd.PersistentFlags().StringVar(&team, "team", "", "team id (default: the team of the key or token used)")
	// open returns a client and the team to act on.
	open := func(ctx context.Context) (*client.Client, string, error) {
		cl, err := c.client()
		if err != nil {
			return nil, "", err
		}
		t := team
		if t == "" {
			if t, err = cl.OwnTeam(ctx); err != nil {
				return nil, "", err
			}
		}
		return cl, t, nil
	}
	show := func(cmd *cobra.Command, ms ...client.Member) error {
		if c.json {
			enc := json.NewEncoder(cmd.OutOrStdout())
			if len(ms) == 1 && cmd.Name() != "list" {
				return enc.Encode(ms[0])
			}
			if ms == nil {
				ms = []client.Member{}
			}
			return enc.Encode(ms)
		}
		tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "USER ID\tEMAIL\tROLE\tADDED")
		for _, m := range ms {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", m.ID, m.Email, m.Role, m.AddedAt.Local().Format("2006-01-02 15:04"))
		}
		return tw.Flush()
	}
	// userID resolves an email to the member's id; an id stays as is.
	userID := func(ctx context.Context, cl *client.Client, t, who string) (string, error) {
		if !strings.Contains(who, "@") {
			return who, nil
		}
		ms, err := cl.ListMembers(ctx, t)
		if err != nil {
			return "", err
		}
		for _, m := range ms {
			if strings.EqualFold(m.Email, strings.TrimSpace(who)) {
				return m.ID, nil
			}
		}
		return "", fmt.Errorf("%s is not a member of team %s", who, t)
	}

	list := &cobra.Command{
		Use:   "list",
		Short: "List the team's members and their roles",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, t, err := open(cmd.Context())
			if err != nil {
				return err
			}
			ms, err := cl.ListMembers(cmd.Context(), t)
			if err != nil {
				return err
			}
			return show(cmd, ms...)
		},
	}
	var role string
	add := &cobra.Command{
		Use:   "add EMAIL",
		Short: "Make the user with this email a member (recorded if new); they then sign in with soulbox auth login --oidc",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, t, err := open(cmd.Context())
			if err != nil {
				return err
			}
			m, err := cl.AddMember(cmd.Context(), t, args[0], role)
			if err != nil {
				return err
			}
			return show(cmd, m)
		},
	}
	add.Flags().StringVar(&role, "role", "developer", "owner, admin, developer or viewer (not above your own)")
	setRole := &cobra.Command{
		Use:   "set-role USER ROLE",
		Short: "Change a member's role (USER is their id or email)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, t, err := open(cmd.Context())
			if err != nil {
				return err
			}
			id, err := userID(cmd.Context(), cl, t, args[0])
			if err != nil {
				return err
			}
			m, err := cl.SetMemberRole(cmd.Context(), t, id, args[1])
			if err != nil {
				return err
			}
			return show(cmd, m)
		},
	}
	remove := &cobra.Command{
		Use:   "remove USER",
		Short: "Remove a member (USER is their id or email); their access tokens stop working at once",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, t, err := open(cmd.Context())
			if err != nil {
				return err
			}
			id, err := userID(cmd.Context(), cl, t, args[0])
			if err != nil {
				return err
			}
			if err := cl.RemoveMember(cmd.Context(), t, id); err != nil {
				return err
			}
			if c.json {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(map[string]string{"removed": id, "teamID": t})
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "removed %s from team %s\n", args[0], t)
			return nil
		},
	}
	cmd.AddCommand(list, add, setRole, remove)
	return cmd
}
