package certs

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// fromFiles loads a PEM certificate chain and its key. A certificate that
// does not cover the sandbox hosts or has expired is served anyway, with a
// warning: the operator may front the server differently.
func fromFiles(certFile, keyFile string, names Names, log *slog.Logger) (*tls.Config, error) {
	for _, f := range []string{certFile, keyFile} {
		if _, err := os.ReadFile(f); err != nil {
			return nil, fmt.Errorf("tls: read %s: %w", f, errdefs.ErrInvalidArgument)
		}
	}
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("tls: certificate %s with key %s: %v: %w", certFile, keyFile, err, errdefs.ErrInvalidArgument)
	}
	leaf := pair.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(pair.Certificate[0]); err != nil {
			return nil, fmt.Errorf("tls: certificate %s: %v: %w", certFile, err, errdefs.ErrInvalidArgument)
		}
	}
	sample := "49983-sandbox." + names.domain()
	if err := leaf.VerifyHostname(sample); err != nil {
		log.Warn("tls: the certificate does not cover the sandbox hosts; clients reaching <port>-<id>."+names.domain()+" will refuse it",
			slog.String("cert", certFile), slog.Any("names", leaf.DNSNames))
	}
	if time.Now().After(leaf.NotAfter) {
		log.Warn("tls: the certificate has expired", slog.String("cert", certFile), slog.Time("not_after", leaf.NotAfter))
	}
	return &tls.Config{Certificates: []tls.Certificate{pair}}, nil
}
