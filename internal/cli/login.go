package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/soulbox/soulbox/internal/auth"
	"github.com/soulbox/soulbox/internal/client"
)

// savedLogin is what `soulbox auth login` keeps in the user's config dir.
type savedLogin struct {
	Server string `json:"server"`
	// APIKey is the key, or a short-lived access token standing for it
	// (login --token-ttl), which the server takes in its place.
	APIKey string `json:"apiKey"`
	// ExpiresAt is when a saved access token expires; absent for a key.
	ExpiresAt *time.Time `json:"expiresAt,omitempty"`
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

// saveLogin writes saved (0600, atomically) and says so.
func saveLogin(cmd *cobra.Command, saved savedLogin) error {
	p, err := loginPath()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return err
	}
	b, _ := json.Marshal(saved)
	if err := os.WriteFile(p+".tmp", b, 0o600); err != nil {
		return err
	}
	if err := os.Rename(p+".tmp", p); err != nil {
		return err
	}
	if saved.ExpiresAt != nil {
		fmt.Fprintf(cmd.ErrOrStderr(), "logged in to %s with an access token until %s (saved in %s)\n", saved.Server, saved.ExpiresAt.Local().Format(time.DateTime), p)
		return nil
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "logged in to %s (saved in %s)\n", saved.Server, p)
	return nil
}

// revokeSaved revokes a saved access token (a key is not revoked by
// logging out). A token the server no longer knows (404) or no longer
// accepts (401: expired or revoked) is done with.
func revokeSaved(ctx context.Context, saved savedLogin) error {
	if !auth.LooksLikeToken(saved.APIKey) {
		return nil
	}
	id, ok := auth.TokenID(saved.APIKey)
	if !ok {
		return nil // not a token this server could have issued
	}
	cl := &client.Client{BaseURL: saved.Server, APIKey: saved.APIKey}
	err := cl.RevokeAccessToken(ctx, id)
	var se *client.StatusError
	if errors.As(err, &se) && (se.Status == http.StatusNotFound || se.Status == http.StatusUnauthorized) {
		return nil
	}
	return err
}

func newAuthCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "auth",
		Short: "Log in to a SoulBox server from this machine",
		Example: `  soulbox auth login --server http://127.0.0.1:3000 --api-key e2b_...
  soulbox auth whoami`,
	}
	var server, key, team string
	var tokenTTL time.Duration
	var useOIDC bool
	login := &cobra.Command{
		Use:   "login",
		Short: "Check a server and key, and keep them for later commands (file mode 0600)",
		Example: `  soulbox auth login --server http://127.0.0.1:3000 --api-key e2b_...
  soulbox auth login --api-key e2b_... --token-ttl 8h
  soulbox auth login --oidc --server https://soulbox.example.com --token-ttl 8h`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if useOIDC {
				if key != "" {
					return errors.New("--oidc signs in without an API key: leave out --api-key")
				}
				saved, err := loginOIDC(cmd.Context(), cmd.ErrOrStderr(), server, team, tokenTTL)
				if err != nil {
					return err
				}
				return saveLogin(cmd, saved)
			}
			if team != "" {
				return errors.New("--team is for --oidc: an API key belongs to one team")
			}
			c := &conn{server: server, key: key}
			cl, err := c.client()
			if err != nil {
				return err
			}
			if _, err := cl.List(cmd.Context(), client.ListOptions{}); err != nil {
				return fmt.Errorf("login refused: %w", err)
			}
			saved := savedLogin{Server: cl.BaseURL, APIKey: cl.APIKey}
			if tokenTTL != 0 {
				// The key is not kept: only a token that expires.
				tok, exp, err := cl.AccessToken(cmd.Context(), "soulbox auth login", tokenTTL)
				if err != nil {
					return fmt.Errorf("login refused: %w", err)
				}
				saved.APIKey, saved.ExpiresAt = tok, &exp
			}
			return saveLogin(cmd, saved)
		},
	}
	login.Flags().StringVar(&server, "server", "", "server URL (default $SOULBOX_API_URL, $E2B_API_URL, http://127.0.0.1:3000)")
	login.Flags().StringVar(&key, "api-key", "", "API key (default $SOULBOX_API_KEY, $E2B_API_KEY)")
	login.Flags().DurationVar(&tokenTTL, "token-ttl", 0, "keep a short-lived access token (up to 24h) made from the key instead of the key itself; with --oidc, the token's lifetime (default 15m)")
	login.Flags().BoolVar(&useOIDC, "oidc", false, "sign in as a member at the server's OIDC issuer (device code: prints a URL and a code to enter there)")
	login.Flags().StringVar(&team, "team", "", "with --oidc: the team to act in, when you are a member of several")
	logout := &cobra.Command{
		Use:     "logout",
		Short:   "Revoke the saved access token, if it is one, and forget the saved server and key",
		Example: "  soulbox auth logout",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := loginPath()
			if err != nil {
				return err
			}
			if saved, ok := readLogin(); ok {
				if err := revokeSaved(cmd.Context(), saved); err != nil {
					return fmt.Errorf("the saved access token was not revoked and still works until it expires: %w (the login is kept so that logout can be tried again; delete %s to forget it anyway)", err, p)
				}
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
