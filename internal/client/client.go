// Package client is what the CLI asks of a SoulBox server, in the shapes
// its commands print. It is built on the public Go SDK
// (sdk/go/soulbox), which does the talking: the REST API for sandboxes
// and sandbox traffic through the server's proxy.
package client

import (
	"net/http"

	"github.com/soulbox/soulbox/sdk/go/soulbox"
)

// Client is a connection to one server with one API key.
type Client struct {
	// BaseURL is the server, e.g. http://127.0.0.1:3000.
	BaseURL string
	// APIKey is sent as X-API-Key.
	APIKey string
	// HTTP is the HTTP client; nil uses a default one.
	HTTP *http.Client
}

// Error is an error answer of the server; errors.Is matches the SDK's
// categories (soulbox.ErrNotFound, ...).
type Error = soulbox.Error

// api is the SDK's client for BaseURL and APIKey, which the CLI resolved
// already: the environment is not read again. Making one is cheap (no
// request), and a Client stays a plain value its users may copy.
func (c *Client) api() (*soulbox.Client, error) {
	return soulbox.New(soulbox.Options{
		APIURL:     c.BaseURL,
		SandboxURL: c.BaseURL,
		APIKey:     c.APIKey,
		HTTPClient: c.HTTP,
		Getenv:     func(string) string { return "" },
	})
}
