package certs

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// New returns the TLS configuration of the listener, nil when cfg turns
// TLS off. dir keeps what must outlive a restart: the local authority and
// the ACME account and certificates. Every mistake in cfg or its files is
// an error here, before anything listens.
func New(cfg Config, dir string, names Names, log *slog.Logger) (*tls.Config, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var (
		tc  *tls.Config
		err error
	)
	switch cfg.Effective() {
	case ModeOff:
		return nil, nil
	case ModeFiles:
		tc, err = fromFiles(cfg.CertFile, cfg.KeyFile, names, log)
	case ModeSelfSigned:
		var ca *localCA
		if ca, err = openLocalCA(dir, names); err == nil {
			tc = &tls.Config{GetCertificate: ca.getCertificate}
			caPath := filepath.Join(dir, caCertFile)
			log.Info("tls: certificates signed by the local authority; trust it in clients",
				slog.String("ca", caPath),
				slog.String("node", "NODE_EXTRA_CA_CERTS="+caPath),
				slog.String("python_go_curl", "SSL_CERT_FILE="+caPath),
				slog.String("system", "cp "+caPath+" /usr/local/share/ca-certificates/soulbox.crt && update-ca-certificates"))
		}
	case ModeACME:
		tc, err = fromACME(cfg, filepath.Join(dir, "acme"), names)
		if err == nil {
			log.Info("tls: certificates from ACME on demand", slog.String("directory", cfg.acmeDirectory()),
				slog.String("domain", names.domain()))
		}
	default:
		return nil, fmt.Errorf("tls mode %q: %w", cfg.Mode, errdefs.ErrInvalidArgument)
	}
	if err != nil {
		return nil, err
	}
	tc.MinVersion = tls.VersionTLS12
	if tc.NextProtos == nil {
		// HTTP/1.1 only, as on plain HTTP: the sandbox proxy's WebSocket
		// upgrades need it.
		tc.NextProtos = []string{"http/1.1"}
	}
	return tc, nil
}
