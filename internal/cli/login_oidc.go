package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/oauth2"

	"github.com/soulbox/soulbox/internal/client"
)

// loginOIDC signs a member in with the OAuth 2.0 device authorization
// grant (RFC 8628) at the server's OIDC issuer: it prints where to go
// and which code to enter, waits for the issuer's ID token, and
// exchanges it at the server for the member's access token.
func loginOIDC(ctx context.Context, stderr io.Writer, server, team string, ttl time.Duration) (savedLogin, error) {
	cl := &client.Client{BaseURL: first(server, os.Getenv("SOULBOX_API_URL"), os.Getenv("E2B_API_URL"), "http://127.0.0.1:3000")}
	oc, err := cl.OIDC(ctx)
	if err != nil {
		return savedLogin{}, fmt.Errorf("OIDC sign-in: %w", err)
	}
	if oc.DeviceAuthorizationEndpoint == "" {
		return savedLogin{}, fmt.Errorf("OIDC sign-in: issuer %s has no device authorization endpoint (RFC 8628)", oc.Issuer)
	}
	cfg := &oauth2.Config{ClientID: oc.ClientID, Scopes: []string{"openid", "email"},
		Endpoint: oauth2.Endpoint{DeviceAuthURL: oc.DeviceAuthorizationEndpoint, TokenURL: oc.TokenEndpoint}}
	da, err := cfg.DeviceAuth(ctx)
	if err != nil {
		return savedLogin{}, fmt.Errorf("OIDC sign-in: ask %s for a device code: %w", oc.Issuer, err)
	}
	fmt.Fprintf(stderr, "To sign in, open %s and enter the code %s\n", da.VerificationURI, da.UserCode)
	if da.VerificationURIComplete != "" {
		fmt.Fprintf(stderr, "(or open %s)\n", da.VerificationURIComplete)
	}
	fmt.Fprintln(stderr, "Waiting for the sign-in…")
	tok, err := cfg.DeviceAccessToken(ctx, da)
	if err != nil {
		return savedLogin{}, fmt.Errorf("OIDC sign-in: %w", err)
	}
	idToken, _ := tok.Extra("id_token").(string)
	if idToken == "" {
		return savedLogin{}, errors.New("OIDC sign-in: the issuer gave no ID token: the client needs the openid scope")
	}
	mt, err := cl.ExchangeIDToken(ctx, idToken, team, ttl)
	if err != nil {
		return savedLogin{}, fmt.Errorf("login refused: %w", err)
	}
	fmt.Fprintf(stderr, "signed in as %s, %s of team %s\n", mt.Email, mt.Role, mt.TeamID)
	return savedLogin{Server: cl.BaseURL, APIKey: mt.Token, ExpiresAt: &mt.ExpiresAt}, nil
}
