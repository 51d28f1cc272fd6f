package cli

import (
	"errors"
	"os"

	"github.com/spf13/cobra"

	"github.com/soulbox/soulbox/internal/client"
)

// conn is how client commands reach the server: flags, else
// SOULBOX_API_URL / SOULBOX_API_KEY, else E2B_API_URL / E2B_API_KEY (a
// shell set up for the E2B SDKs works as is), else what `soulbox auth
// login` saved.
type conn struct {
	server, key string
	json        bool
}

func (c *conn) flags(cmd *cobra.Command) {
	cmd.PersistentFlags().StringVar(&c.server, "server", "", "SoulBox server URL (default $SOULBOX_API_URL, $E2B_API_URL, http://127.0.0.1:3000)")
	cmd.PersistentFlags().StringVar(&c.key, "api-key", "", "API key (default $SOULBOX_API_KEY, $E2B_API_KEY)")
	cmd.PersistentFlags().BoolVar(&c.json, "json", false, "print JSON for scripts")
}

func (c *conn) client() (*client.Client, error) {
	saved, _ := readLogin()
	server := first(c.server, os.Getenv("SOULBOX_API_URL"), os.Getenv("E2B_API_URL"), saved.Server, "http://127.0.0.1:3000")
	key := first(c.key, os.Getenv("SOULBOX_API_KEY"), os.Getenv("E2B_API_KEY"), saved.APIKey)
	if key == "" {
		return nil, errors.New("no API key: run soulbox auth login, pass --api-key or set SOULBOX_API_KEY (the server's admin key is in its data dir, admin.key)")
	}
	return &client.Client{BaseURL: server, APIKey: key}, nil
}

func first(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
