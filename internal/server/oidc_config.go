package server

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/signin"
)

// OIDCConfig turns on sign-in with OpenID Connect: members exchange an
// ID token of the issuer for an access token (POST /auth/oidc/token).
// Off while Issuer is empty.
type OIDCConfig struct {
	// Issuer is the issuer's URL, as its tokens' iss says it
	// (SOULBOX_OIDC_ISSUER).
	Issuer string
	// ClientID is this server's client id at the issuer, the audience its
	// ID tokens must name (SOULBOX_OIDC_CLIENT_ID).
	ClientID string
	// AllowedDomains, comma-separated, are the only email domains that
	// may sign in; empty allows any (SOULBOX_OIDC_ALLOWED_DOMAINS).
	AllowedDomains string
	// AllowUnverifiedEmail accepts ID tokens without the email_verified
	// claim, for an issuer that never sends it
	// (SOULBOX_OIDC_ALLOW_UNVERIFIED_EMAIL); by default they are refused.
	AllowUnverifiedEmail bool

	badEnv string // a SOULBOX_OIDC_ALLOW_UNVERIFIED_EMAIL that is no boolean
}

func (o OIDCConfig) fromEnv(getenv func(string) string) OIDCConfig {
	for _, v := range []struct {
		name string
		dst  *string
	}{
		{"SOULBOX_OIDC_ISSUER", &o.Issuer},
		{"SOULBOX_OIDC_CLIENT_ID", &o.ClientID},
		{"SOULBOX_OIDC_ALLOWED_DOMAINS", &o.AllowedDomains},
	} {
		if s := getenv(v.name); s != "" {
			*v.dst = s
		}
	}
	if s := getenv("SOULBOX_OIDC_ALLOW_UNVERIFIED_EMAIL"); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			o.badEnv = s
		}
		o.AllowUnverifiedEmail = b
	}
	return o
}

// signin returns the verifier's configuration; ok is false when sign-in
// is off.
func (o OIDCConfig) signin() (signin.Config, bool) {
	if o.Issuer == "" && o.ClientID == "" && o.AllowedDomains == "" {
		return signin.Config{}, false
	}
	c := signin.Config{Issuer: strings.TrimSpace(o.Issuer), ClientID: strings.TrimSpace(o.ClientID), AllowUnverifiedEmail: o.AllowUnverifiedEmail}
	for _, d := range strings.Split(o.AllowedDomains, ",") {
		if d = strings.TrimSpace(d); d != "" {
			c.AllowedDomains = append(c.AllowedDomains, d)
		}
	}
	return c, true
}

// validate checks the fields when sign-in is on.
func (o OIDCConfig) validate() error {
	if o.badEnv != "" {
		return fmt.Errorf("SOULBOX_OIDC_ALLOW_UNVERIFIED_EMAIL %q: want true or false: %w", o.badEnv, errdefs.ErrInvalidArgument)
	}
	c, on := o.signin()
	if !on {
		return nil
	}
	return c.Validate()
}
