package server

import (
	"errors"
	"strings"
	"testing"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// TestOIDCConfig: the environment turns OIDC sign-in on; Validate names
// what is wrong with a half or wrong configuration.
func TestOIDCConfig(t *testing.T) {
	env := map[string]string{"SOULBOX_OIDC_ISSUER": "https://login.example.com", "SOULBOX_OIDC_CLIENT_ID": "soulbox",
		"SOULBOX_OIDC_ALLOWED_DOMAINS": "example.com, example.org"}
	c := Defaults().FromEnv(func(k string) string { return env[k] })
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	sc, on := c.OIDC.signin()
	if !on || sc.Issuer != "https://login.example.com" || sc.ClientID != "soulbox" || strings.Join(sc.AllowedDomains, " ") != "example.com example.org" || sc.AllowUnverifiedEmail {
		t.Errorf("from the environment: %+v, on %v", sc, on)
	}
	// Tokens without email_verified are refused unless the admin opts out.
	env["SOULBOX_OIDC_ALLOW_UNVERIFIED_EMAIL"] = "true"
	c = Defaults().FromEnv(func(k string) string { return env[k] })
	if sc, _ := c.OIDC.signin(); c.Validate() != nil || !sc.AllowUnverifiedEmail {
		t.Errorf("SOULBOX_OIDC_ALLOW_UNVERIFIED_EMAIL=true: %+v, %v", sc, c.Validate())
	}
	env["SOULBOX_OIDC_ALLOW_UNVERIFIED_EMAIL"] = "sometimes"
	c = Defaults().FromEnv(func(k string) string { return env[k] })
	if err := c.Validate(); !errors.Is(err, errdefs.ErrInvalidArgument) || !strings.Contains(err.Error(), "SOULBOX_OIDC_ALLOW_UNVERIFIED_EMAIL") {
		t.Errorf("SOULBOX_OIDC_ALLOW_UNVERIFIED_EMAIL=sometimes: %v, want invalid naming it", err)
	}
	if _, on := Defaults().OIDC.signin(); on {
		t.Error("OIDC sign-in is on by default")
	}
	for _, tc := range []struct {
		oidc OIDCConfig
		msg  string
	}{
		{OIDCConfig{Issuer: "https://login.example.com"}, "client id"},
		{OIDCConfig{ClientID: "soulbox"}, "issuer"},
		{OIDCConfig{Issuer: "login.example.com", ClientID: "soulbox"}, "https://"},
		{OIDCConfig{Issuer: "https://login.example.com", ClientID: "soulbox", AllowedDomains: "@example.com"}, "domain"},
	} {
		c := Defaults()
		c.OIDC = tc.oidc
		if err := c.Validate(); !errors.Is(err, errdefs.ErrInvalidArgument) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%+v: %v, want invalid saying %q", tc.oidc, err, tc.msg)
		}
	}
}
