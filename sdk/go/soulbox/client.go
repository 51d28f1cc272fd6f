package soulbox

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// DefaultAPIURL is the server a client talks to when neither Options nor
// the environment name one: a SoulBox server on this host.
const DefaultAPIURL = "http://127.0.0.1:3000"

// Options configure a Client. Zero fields are taken from the environment,
// then from defaults.
type Options struct {
	// APIURL is the control plane, e.g. http://127.0.0.1:3000.
	// Default: $SOULBOX_API_URL, $E2B_API_URL, https://api.$E2B_DOMAIN
	// when E2B_DOMAIN is set, else DefaultAPIURL.
	APIURL string
	// APIKey is sent as X-API-Key. Default: $SOULBOX_API_KEY, $E2B_API_KEY.
	APIKey string
	// SandboxURL receives sandbox traffic (commands, files, code), routed
	// by the E2b-Sandbox-Id header. Default: $E2B_SANDBOX_URL, else the
	// API URL when no domain is set (a SoulBox server takes both on one
	// listener). With a domain and no sandbox URL, traffic goes to each
	// sandbox's own host, <port>-<id>.<domain>, on the API URL's scheme
	// and port (https://49983-<id>.e2b.app on E2B).
	SandboxURL string
	// Domain is the domain of sandbox hosts, <port>-<id>.<domain>.
	// Default: $E2B_DOMAIN, else the server's, else localhost.
	Domain string
	// HTTPClient sends every request; nil uses a client without an
	// overall timeout (streams are long-lived; use contexts).
	HTTPClient *http.Client
	// Getenv reads the environment; nil uses os.Getenv. Tests set it.
	Getenv func(string) string
}

// Client is a connection to one SoulBox (or E2B) control plane with one
// API key. It is safe for concurrent use.
type Client struct {
	apiURL     string
	sandboxURL string // empty: per-sandbox hosts on domain
	domain     string
	apiKey     string
	http       *http.Client
}

// New returns a client for the options, completed from the environment.
// It does not contact the server.
func New(o Options) (*Client, error) {
	env := o.Getenv
	if env == nil {
		env = os.Getenv
	}
	domain := first(o.Domain, env("E2B_DOMAIN"))
	apiURL := first(o.APIURL, env("SOULBOX_API_URL"), env("E2B_API_URL"))
	sandboxURL := first(o.SandboxURL, env("E2B_SANDBOX_URL"))
	if apiURL == "" && domain != "" {
		apiURL = "https://api." + domain
	} else if apiURL == "" {
		apiURL = DefaultAPIURL
	}
	if sandboxURL == "" && domain == "" {
		// A SoulBox server takes sandbox traffic on its API listener.
		sandboxURL = apiURL
	}
	for _, u := range []string{apiURL, sandboxURL} {
		if u == "" {
			continue
		}
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return nil, &Error{kind: ErrInvalidArgument, Message: fmt.Sprintf("server URL %q: want http(s)://host[:port]", u)}
		}
	}
	key := first(o.APIKey, env("SOULBOX_API_KEY"), env("E2B_API_KEY"))
	if key == "" {
		return nil, &Error{kind: ErrAuth, Message: "no API key: set Options.APIKey, SOULBOX_API_KEY or E2B_API_KEY"}
	}
	hc := o.HTTPClient
	if hc == nil {
		hc = &http.Client{Transport: http.DefaultTransport}
	}
	if domain == "" {
		domain = "localhost"
	}
	return &Client{
		apiURL:     strings.TrimRight(apiURL, "/"),
		sandboxURL: strings.TrimRight(sandboxURL, "/"),
		domain:     domain,
		apiKey:     key,
		http:       hc,
	}, nil
}

// APIURL is the control plane this client talks to.
func (c *Client) APIURL() string { return c.apiURL }

func first(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// do sends a JSON request to the control plane and decodes a JSON answer
// into out (if not nil). It returns the response headers.
func (c *Client) do(ctx context.Context, method, path string, body, out any) (http.Header, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.apiURL+path, r)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-API-Key", c.apiKey)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, transportError(ctx, apiName(c.apiURL), err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, transportError(ctx, apiName(c.apiURL), err)
	}
	if resp.StatusCode >= 300 {
		return resp.Header, httpError(resp.StatusCode, resp.Header, b)
	}
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.Header, fmt.Errorf("%s %s: unexpected answer: %w", method, path, err)
		}
	}
	return resp.Header, nil
}

// seconds is d in whole seconds for the API, at least 1 when d > 0.
func seconds(d time.Duration) int64 {
	s := int64(d / time.Second)
	if s == 0 && d > 0 {
		s = 1
	}
	return s
}
