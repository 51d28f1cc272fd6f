package certs

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// fromACME gets certificates from an ACME authority as clients ask for
// them, answering the tls-alpn-01 challenge on the listener itself, and
// keeps them and the account key in dir. Only the server's names are
// asked for, sandbox hosts only for sandboxes that exist.
func fromACME(cfg Config, dir string, names Names) (*tls.Config, error) {
	if d := names.domain(); d == "localhost" || strings.HasSuffix(d, ".localhost") {
		return nil, fmt.Errorf("tls acme: no ACME authority issues certificates for %s: set --domain to a public domain that points at this host, or use --tls=self-signed: %w", d, errdefs.ErrInvalidArgument)
	}
	client := &acme.Client{DirectoryURL: cfg.acmeDirectory(), UserAgent: "soulbox"}
	if cfg.ACMECAFile != "" {
		pemBytes, err := os.ReadFile(cfg.ACMECAFile)
		if err != nil {
			return nil, fmt.Errorf("tls: read acme ca %s: %w", cfg.ACMECAFile, errdefs.ErrInvalidArgument)
		}
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pemBytes) {
			return nil, fmt.Errorf("tls: acme ca %s holds no PEM certificate: %w", cfg.ACMECAFile, errdefs.ErrInvalidArgument)
		}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = &tls.Config{RootCAs: roots}
		client.HTTPClient = &http.Client{Transport: tr, Timeout: time.Minute}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("tls: create %s: %w", dir, err)
	}
	budget := newOrders()
	m := &autocert.Manager{
		Prompt: autocert.AcceptTOS,
		Cache:  autocert.DirCache(dir),
		// autocert asks the policy only before ordering a certificate it
		// has in neither memory nor cache: the order budget is spent there.
		HostPolicy: func(ctx context.Context, host string) error {
			id, err := names.check(ctx, host, true)
			if err != nil {
				return err
			}
			return budget.take(id)
		},
		Client: client,
		Email:  cfg.ACMEEmail,
	}
	tc := m.TLSConfig()
	// HTTP/1.1 only, as on plain HTTP: the sandbox proxy's WebSocket
	// upgrades need it.
	tc.NextProtos = []string{"http/1.1", acme.ALPNProto}
	return tc, nil
}
