package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/soulbox/soulbox/internal/client"
)

// savedLogin is what `soulbox auth login` keeps in the user's config dir.
type savedLogin struct {
	Server string `json:"server"`
	APIKey string `json:"apiKey"`
}

func loginPath() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("find the config directory: %w", err)
	}
	return filepath.Join(dir, "soulbox", "login.json"), nil
}

func readLogin() (savedLogin, bool) {
	var l savedLogin
	p, err := loginPath()
	if err != nil {
		return l, false
	}
	b, err := os.ReadFile(p)
	if err != nil || json.Unmarshal(b, &l) != nil {
		return l, false
	}
	return l, true
}

func newAuthCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "auth",
		Short: "Log in to a SoulBox server from this machine",
		Example: `  soulbox auth login --server http://127.0.0.1:3000 --api-key e2b_...
  soulbox auth whoami`,
	}
	var server, key string
	login := &cobra.Command{
		Use:     "login",
		Short:   "Check a server and key, and keep them for later commands (file mode 0600)",
		Example: "  soulbox auth login --server http://127.0.0.1:3000 --api-key e2b_...",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c := &conn{server: server, key: key}
			cl, err := c.client()
			if err != nil {
				return err
			}
			if _, err := cl.List(cmd.Context(), client.ListOptions{}); err != nil {
				return fmt.Errorf("login refused: %w", err)
			}
			p, err := loginPath()
			if err != nil {
				return err
			}
			if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
				return err
			}
			b, _ := json.Marshal(savedLogin{Server: cl.BaseURL, APIKey: cl.APIKey})
			if err := os.WriteFile(p+".tmp", b, 0o600); err != nil {
				return err
			}
			if err := os.Rename(p+".tmp", p); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "logged in to %s (saved in %s)\n", cl.BaseURL, p)
			return nil
		},
	}
	login.Flags().StringVar(&server, "server", "", "server URL (default $SOULBOX_API_URL, $E2B_API_URL, http://127.0.0.1:3000)")
	login.Flags().StringVar(&key, "api-key", "", "API key (default $SOULBOX_API_KEY, $E2B_API_KEY)")
	logout := &cobra.Command{
		Use:     "logout",
		Short:   "Forget the saved server and key",
		Example: "  soulbox auth logout",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := loginPath()
			if err != nil {
				return err
			}
			if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
			return nil
		},
	}
	c := &conn{}
	whoami := &cobra.Command{
		Use:     "whoami",
		Short:   "Show which server and key commands use, and whether the server accepts the key",
		Example: "  soulbox auth whoami",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := c.client()
			if err != nil {
				return err
			}
			status := "accepted"
			if _, err := cl.List(cmd.Context(), client.ListOptions{}); err != nil {
				status = "refused: " + err.Error()
			}
			prefix := cl.APIKey
			if len(prefix) > 10 {
				prefix = prefix[:10] + "…"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "server %s\nkey    %s (%s)\n", cl.BaseURL, prefix, status)
			return nil
		},
	}
	c.flags(whoami)
	cmd.AddCommand(login, logout, whoami)
	return cmd
}
