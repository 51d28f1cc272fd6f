// Package signin verifies OpenID Connect ID tokens from the one issuer a
// server trusts, for members who sign in rather than hold an API key. It
// checks the token (signature against the issuer's published keys,
// algorithm, issuer, audience = the server's client id, expiry) and
// returns the verified email address; which team and role that address
// has is the store's, and the access token given for it the auth
// package's.
package signin

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/sync/singleflight"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
)

// Config names the issuer a server trusts.
type Config struct {
	// Issuer is the issuer's URL, exactly as its ID tokens' iss claim
	// says it (its discovery document is at
	// <Issuer>/.well-known/openid-configuration).
	Issuer string
	// ClientID is this server's client id at the issuer: the audience
	// every accepted ID token names.
	ClientID string
	// AllowedDomains, if not empty, are the only email domains accepted.
	AllowedDomains []string
	// AllowUnverifiedEmail accepts ID tokens without the email_verified
	// claim, for issuers that never send it (all their addresses must
	// then be their holders'). By default an ID token must say
	// email_verified: true; one saying false is refused either way.
	AllowUnverifiedEmail bool
	// HTTP fetches the discovery document and the keys; nil is a client
	// that gives up after 10 seconds.
	HTTP *http.Client
}

// Validate checks c.
func (c Config) Validate() error {
	if err := validateIssuer(c.Issuer); err != nil {
		return err
	}
	if strings.TrimSpace(c.ClientID) == "" {
		return fmt.Errorf("oidc client id: required with an issuer: %w", errdefs.ErrInvalidArgument)
	}
	for _, d := range c.AllowedDomains {
		if d == "" || strings.ContainsAny(d, "@ /") {
			return fmt.Errorf("oidc allowed domain %q: want a domain such as example.com: %w", d, errdefs.ErrInvalidArgument)
		}
	}
	return nil
}

// validateIssuer checks the issuer's URL: https://, or http:// for an
// issuer on this host only (localhost or a loopback address), since the
// keys that sign members in must not travel in the clear.
func validateIssuer(issuer string) error {
	u, err := url.Parse(issuer)
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("oidc issuer %q: want an https:// URL such as https://login.example.com: %w", issuer, errdefs.ErrInvalidArgument)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		host := u.Hostname()
		if ip, err := netip.ParseAddr(host); (err == nil && ip.Unmap().IsLoopback()) || strings.EqualFold(host, "localhost") {
			return nil
		}
		return fmt.Errorf("oidc issuer %q: http:// is accepted only for an issuer on this host (localhost, 127.0.0.1, ::1): use https://: %w", issuer, errdefs.ErrInvalidArgument)
	}
	return fmt.Errorf("oidc issuer %q: want an https:// URL (http:// only for an issuer on this host): %w", issuer, errdefs.ErrInvalidArgument)
}

// discoveryTimeout bounds one read of the issuer's discovery document;
// failBackoff is how long after a failed read sign-ins fail at once
// rather than each waiting on an issuer that is down.
const (
	discoveryTimeout = 10 * time.Second
	failBackoff      = 5 * time.Second
)

// Verifier checks ID tokens of one issuer. The issuer's discovery
// document is read at the first verification (and again after a
// failure), so a server starts while its issuer is down. Concurrent
// sign-ins share one read; for failBackoff after a failed one they fail
// at once; each waits no longer than its own context.
type Verifier struct {
	cfg Config

	reads singleflight.Group
	now   func() time.Time // time.Now unless a test sets it

	mu       sync.Mutex // guards the fields below, never held across a read
	verifier *oidc.IDTokenVerifier
	provider *oidc.Provider
	failedAt time.Time
	failure  error
}

// New returns a verifier for cfg, which must be valid.
func New(cfg Config) (*Verifier, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.HTTP == nil {
		// Bounded: a hung issuer must not hold sign-ins forever.
		cfg.HTTP = &http.Client{Timeout: discoveryTimeout}
	}
	cfg.AllowedDomains = slices.Clone(cfg.AllowedDomains)
	for i, d := range cfg.AllowedDomains {
		cfg.AllowedDomains[i] = strings.ToLower(d)
	}
	return &Verifier{cfg: cfg, now: time.Now}, nil
}

// Config returns the verifier's configuration.
func (v *Verifier) Config() Config { return v.cfg }

// discover returns the verifier, reading the discovery document if not
// done yet: once for all who ask at the same time, and not again within
// failBackoff of a failed read.
func (v *Verifier) discover(ctx context.Context) (*oidc.IDTokenVerifier, error) {
	v.mu.Lock()
	vf, failure, failedAt := v.verifier, v.failure, v.failedAt
	v.mu.Unlock()
	if vf != nil {
		return vf, nil
	}
	if failure != nil {
		if wait := failedAt.Add(failBackoff).Sub(v.now()); wait > 0 {
			return nil, fmt.Errorf("%w (retrying in %.0f s)", failure, wait.Seconds()+0.5)
		}
	}
	// The read is shared, so it runs on no one request's context; each
	// caller waits for it only as long as its own context allows.
	ch := v.reads.DoChan("discover", func() (any, error) { return v.read(context.WithoutCancel(ctx)) })
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(*oidc.IDTokenVerifier), nil
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for the discovery document of OIDC issuer %s: %w: %w", v.cfg.Issuer, ctx.Err(), errdefs.ErrUnavailable)
	}
}

// read reads the discovery document and records the verifier it gives,
// or the failure.
func (v *Verifier) read(ctx context.Context) (*oidc.IDTokenVerifier, error) {
	p, vf, err := v.readProvider(ctx)
	v.mu.Lock()
	defer v.mu.Unlock()
	if err != nil {
		v.failure, v.failedAt = err, v.now()
		return nil, err
	}
	v.provider, v.verifier, v.failure = p, vf, nil
	return vf, nil
}

func (v *Verifier) readProvider(ctx context.Context) (*oidc.Provider, *oidc.IDTokenVerifier, error) {
	// The provider keeps this context to fetch keys later: it must not
	// be one that ends.
	pctx := oidc.ClientContext(ctx, v.cfg.HTTP)
	dctx, cancel := context.WithTimeout(pctx, discoveryTimeout)
	defer cancel()
	p, err := oidc.NewProvider(dctx, v.cfg.Issuer)
	if err != nil {
		return nil, nil, fmt.Errorf("read the discovery document of OIDC issuer %s: %v: %w", v.cfg.Issuer, err, errdefs.ErrUnavailable)
	}
	var algs struct {
		Algs []string `json:"id_token_signing_alg_values_supported"`
	}
	_ = p.Claims(&algs)
	// Only asymmetric algorithms: an HS256 token "signed" with the
	// issuer's public key as its secret, or alg none, is never accepted.
	allowed := []string{}
	for _, a := range algs.Algs {
		if a != "none" && !strings.HasPrefix(a, "HS") {
			allowed = append(allowed, a)
		}
	}
	if len(allowed) == 0 {
		allowed = []string{oidc.RS256}
	}
	keys := oidc.NewRemoteKeySet(pctx, jwksURL(p))
	return p, oidc.NewVerifier(v.cfg.Issuer, keys, &oidc.Config{ClientID: v.cfg.ClientID, SupportedSigningAlgs: allowed}), nil
}

// jwksURL is the provider's jwks_uri.
func jwksURL(p *oidc.Provider) string {
	var c struct {
		JWKS string `json:"jwks_uri"`
	}
	_ = p.Claims(&c)
	return c.JWKS
}

// Endpoints returns the issuer's device authorization and token
// endpoints, from its discovery document.
func (v *Verifier) Endpoints(ctx context.Context) (device, token string, err error) {
	if _, err := v.discover(ctx); err != nil {
		return "", "", err
	}
	v.mu.Lock()
	p := v.provider
	v.mu.Unlock()
	e := p.Endpoint()
	return e.DeviceAuthURL, e.TokenURL, nil
}

// Identity is what a verified ID token says of its user.
type Identity struct {
	// Email is the user's address, as store.NormalizeEmail returns it.
	Email string
	// Subject is the issuer's id of the user.
	Subject string
}

// Verify checks raw and returns whom it identifies. A token that fails
// a check is ErrUnauthenticated with a message saying which; an email
// outside the allowed domains (or none, or not verified by the issuer)
// is ErrPermissionDenied; an unreachable issuer is ErrUnavailable.
func (v *Verifier) Verify(ctx context.Context, raw string) (Identity, error) {
	if raw == "" {
		return Identity{}, fmt.Errorf("idToken: required: the ID token the issuer gave at sign-in: %w", errdefs.ErrInvalidArgument)
	}
	vf, err := v.discover(ctx)
	if err != nil {
		return Identity{}, err
	}
	tok, err := vf.Verify(ctx, raw)
	if err != nil {
		return Identity{}, v.explain(raw, err)
	}
	var c struct {
		Email    string `json:"email"`
		Verified *bool  `json:"email_verified"`
	}
	if err := tok.Claims(&c); err != nil {
		return Identity{}, fmt.Errorf("ID token claims: %v: %w", err, errdefs.ErrUnauthenticated)
	}
	if c.Email == "" {
		return Identity{}, fmt.Errorf("ID token has no email claim: ask for the email scope at sign-in: %w", errdefs.ErrPermissionDenied)
	}
	if c.Verified != nil && !*c.Verified {
		return Identity{}, fmt.Errorf("ID token: the issuer has not verified email %s: %w", c.Email, errdefs.ErrPermissionDenied)
	}
	if c.Verified == nil && !v.cfg.AllowUnverifiedEmail {
		return Identity{}, fmt.Errorf("ID token does not say the issuer verified email %s (no email_verified claim): for an issuer that never sends it, the server admin sets --oidc-allow-unverified-email: %w",
			c.Email, errdefs.ErrPermissionDenied)
	}
	if tok.Subject == "" {
		return Identity{}, fmt.Errorf("ID token has no subject (sub): %w", errdefs.ErrUnauthenticated)
	}
	email, err := store.NormalizeEmail(c.Email)
	if err != nil {
		return Identity{}, fmt.Errorf("ID token: %v: %w", err, errdefs.ErrPermissionDenied)
	}
	if len(v.cfg.AllowedDomains) > 0 {
		_, domain, _ := strings.Cut(email, "@")
		if !slices.Contains(v.cfg.AllowedDomains, domain) {
			return Identity{}, fmt.Errorf("email %s: sign-in is open to addresses at %s only: %w", email, strings.Join(v.cfg.AllowedDomains, ", "), errdefs.ErrPermissionDenied)
		}
	}
	return Identity{Email: email, Subject: tok.Subject}, nil
}

// explain turns go-oidc's refusal into a message saying what is wrong
// with the token, read from its unverified header and claims: nothing
// of them is trusted, they only name the check that failed.
func (v *Verifier) explain(raw string, err error) error {
	var expired *oidc.TokenExpiredError
	if errors.As(err, &expired) {
		return fmt.Errorf("ID token expired at %s: sign in again: %w", expired.Expiry.UTC().Format(time.RFC3339), errdefs.ErrUnauthenticated)
	}
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return fmt.Errorf("malformed ID token: want a JWT (three dot-separated parts): %w", errdefs.ErrUnauthenticated)
	}
	var head struct {
		Alg string `json:"alg"`
	}
	var claims struct {
		Iss string          `json:"iss"`
		Aud json.RawMessage `json:"aud"`
	}
	if decodePart(parts[0], &head) != nil || decodePart(parts[1], &claims) != nil {
		return fmt.Errorf("malformed ID token: %w", errdefs.ErrUnauthenticated)
	}
	if head.Alg == "none" || strings.HasPrefix(head.Alg, "HS") || head.Alg == "" {
		return fmt.Errorf("ID token refused: algorithm %q: only the issuer's asymmetric signatures (RS256 and the like) are accepted: %w", head.Alg, errdefs.ErrUnauthenticated)
	}
	if claims.Iss != v.cfg.Issuer {
		return fmt.Errorf("ID token issued by %q, not by this server's OIDC issuer %q: %w", claims.Iss, v.cfg.Issuer, errdefs.ErrUnauthenticated)
	}
	if !audienceHas(claims.Aud, v.cfg.ClientID) {
		return fmt.Errorf("ID token audience is not this server's client id %q: it was issued to another application: %w", v.cfg.ClientID, errdefs.ErrUnauthenticated)
	}
	if strings.Contains(err.Error(), "verify signature") {
		return fmt.Errorf("ID token signature does not verify against the issuer's published keys: %w", errdefs.ErrUnauthenticated)
	}
	return fmt.Errorf("ID token refused: %v: %w", err, errdefs.ErrUnauthenticated)
}

func decodePart(s string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// audienceHas reports whether aud (a string or an array of strings)
// names id.
func audienceHas(aud json.RawMessage, id string) bool {
	var one string
	if json.Unmarshal(aud, &one) == nil {
		return one == id
	}
	var many []string
	return json.Unmarshal(aud, &many) == nil && slices.Contains(many, id)
}
