package signin_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/signin"
	"github.com/soulbox/soulbox/internal/signin/oidctest"
)

// TestVerify: a good ID token gives its normalised email; every kind of
// bad token is refused in the right category with a message naming the
// check that failed.
func TestVerify(t *testing.T) {
	ctx := context.Background()
	is := oidctest.New(t, "soulbox-test")
	other := oidctest.New(t, "soulbox-test")
	v, err := signin.New(signin.Config{Issuer: is.URL, ClientID: "soulbox-test", AllowedDomains: []string{"Example.com"}})
	if err != nil {
		t.Fatal(err)
	}

	id, err := v.Verify(ctx, is.IDToken(t, is.Claims("Ada@Example.com")))
	if err != nil || id.Email != "ada@example.com" || id.Subject != "sub-ada@example.com" {
		t.Fatalf("good token: %+v, %v", id, err)
	}

	with := func(change func(jwt.MapClaims)) jwt.MapClaims {
		c := is.Claims("ada@example.com")
		change(c)
		return c
	}
	strange, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		token string
		want  error
		msg   string
	}{
		{"another issuer", other.IDToken(t, other.Claims("ada@example.com")), errdefs.ErrUnauthenticated, "not by this server's OIDC issuer"},
		{"another issuer's name, this issuer's key", is.IDToken(t, with(func(c jwt.MapClaims) { c["iss"] = other.URL })), errdefs.ErrUnauthenticated, "not by this server's OIDC issuer"},
		{"wrong audience", is.IDToken(t, with(func(c jwt.MapClaims) { c["aud"] = "another-app" })), errdefs.ErrUnauthenticated, "audience"},
		{"expired", is.IDToken(t, with(func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Minute).Unix() })), errdefs.ErrUnauthenticated, "expired"},
		{"signed with another key", oidctest.SignRS256(t, strange, is.KeyID, is.Claims("ada@example.com")), errdefs.ErrUnauthenticated, "signature"},
		{"alg none", oidctest.Unsigned(t, is.Claims("ada@example.com")), errdefs.ErrUnauthenticated, `algorithm "none"`},
		{"HS256 with the public key as secret", is.HS256WithPublicKey(t, is.Claims("ada@example.com")), errdefs.ErrUnauthenticated, `algorithm "HS256"`},
		{"malformed", "not.a-token", errdefs.ErrUnauthenticated, "malformed"},
		{"two parts", "abc.def", errdefs.ErrUnauthenticated, "malformed"},
		{"empty", "", errdefs.ErrInvalidArgument, "idToken"},
		{"domain not allowed", is.IDToken(t, is.Claims("eve@evil.example")), errdefs.ErrPermissionDenied, "example.com only"},
		{"email not verified", is.IDToken(t, with(func(c jwt.MapClaims) { c["email_verified"] = false })), errdefs.ErrPermissionDenied, "not verified"},
		{"no email", is.IDToken(t, with(func(c jwt.MapClaims) { delete(c, "email") })), errdefs.ErrPermissionDenied, "no email"},
		{"email_verified missing", is.IDToken(t, with(func(c jwt.MapClaims) { delete(c, "email_verified") })), errdefs.ErrPermissionDenied, "no email_verified claim"},
		{"email_verified not a boolean", is.IDToken(t, with(func(c jwt.MapClaims) { c["email_verified"] = "true" })), errdefs.ErrUnauthenticated, "claims"},
		{"no subject", is.IDToken(t, with(func(c jwt.MapClaims) { delete(c, "sub") })), errdefs.ErrUnauthenticated, "subject"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := v.Verify(ctx, tc.token)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("got %v, want %v saying %q", err, tc.want, tc.msg)
			}
		})
	}
}

// TestAllowUnverifiedEmail: with the opt-out, an ID token without
// email_verified is accepted; one saying false is still refused.
func TestAllowUnverifiedEmail(t *testing.T) {
	ctx := context.Background()
	is := oidctest.New(t, "soulbox-test")
	v, err := signin.New(signin.Config{Issuer: is.URL, ClientID: "soulbox-test", AllowUnverifiedEmail: true})
	if err != nil {
		t.Fatal(err)
	}
	c := is.Claims("ada@example.com")
	delete(c, "email_verified")
	if id, err := v.Verify(ctx, is.IDToken(t, c)); err != nil || id.Email != "ada@example.com" {
		t.Errorf("no email_verified with the opt-out: %+v, %v; want accepted", id, err)
	}
	c["email_verified"] = false
	if _, err := v.Verify(ctx, is.IDToken(t, c)); !errors.Is(err, errdefs.ErrPermissionDenied) {
		t.Errorf("email_verified false with the opt-out: %v, want permission denied", err)
	}
}

// TestIssuerDown: a verifier made while its issuer cannot be reached
// answers ErrUnavailable, not a refusal of the user's token.
func TestIssuerDown(t *testing.T) {
	v, err := signin.New(signin.Config{Issuer: "http://127.0.0.1:1", ClientID: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(context.Background(), "a.b.c"); !errors.Is(err, errdefs.ErrUnavailable) {
		t.Errorf("issuer down: %v, want unavailable", err)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []signin.Config{
		{Issuer: "issuer.example.com", ClientID: "x"},
		{Issuer: "https://issuer.example.com", ClientID: " "},
		{Issuer: "https://issuer.example.com", ClientID: "x", AllowedDomains: []string{"@example.com"}},
	} {
		if err := c.Validate(); !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("%+v: %v, want invalid argument", c, err)
		}
	}
}

// TestIssuerScheme: an issuer is https://, or http:// on this host only
// (its keys sign members in and must not travel in the clear); anything
// else is refused saying what to use.
func TestIssuerScheme(t *testing.T) {
	for _, tc := range []struct {
		issuer string
		msg    string // "" is accepted
	}{
		{"https://login.example.com", ""},
		{"https://login.example.com/realms/acme", ""},
		{"https://10.0.0.5:8443", ""},
		{"http://localhost:8080", ""},
		{"http://LOCALHOST/realms/acme", ""},
		{"http://127.0.0.1:5556/dex", ""},
		{"http://127.8.9.10", ""},
		{"http://[::1]:8080", ""},
		{"http://login.example.com", "only for an issuer on this host"},
		{"http://10.0.0.5:8080", "only for an issuer on this host"},
		{"http://192.168.1.1", "only for an issuer on this host"},
		{"http://localhost.example.com", "only for an issuer on this host"},
		{"http://127.0.0.1.nip.io", "only for an issuer on this host"},
		{"http://[::ffff:10.0.0.1]", "only for an issuer on this host"},
		{"http://0.0.0.0", "only for an issuer on this host"},
		{"ftp://login.example.com", "want an https:// URL"},
		{"https://", "want an https:// URL"},
		{"https://user:pass@login.example.com", "want an https:// URL"},
		{"login.example.com", "want an https:// URL"},
	} {
		t.Run(tc.issuer, func(t *testing.T) {
			err := signin.Config{Issuer: tc.issuer, ClientID: "x"}.Validate()
			if tc.msg == "" && err != nil {
				t.Errorf("%v, want accepted", err)
			}
			if tc.msg != "" && (!errors.Is(err, errdefs.ErrInvalidArgument) || !strings.Contains(err.Error(), tc.msg)) {
				t.Errorf("%v, want invalid argument saying %q", err, tc.msg)
			}
		})
	}
}
