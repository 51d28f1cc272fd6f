package certs

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// reloadEvery is how often the files are checked for a renewal.
var reloadEvery = 10 * time.Second

// fileCert serves a PEM certificate chain and its key, and picks up a
// renewal (certbot and the like rewrite the files in place) without a
// restart. A renewal that does not load is logged and the old pair kept.
type fileCert struct {
	certFile, keyFile string
	names             Names
	log               *slog.Logger

	mu      sync.Mutex
	pair    *tls.Certificate
	stamp   string // sizes and modification times the pair was loaded from
	checked time.Time
}

// fromFiles loads the pair; a mistake is an error here, at start. A
// certificate that does not cover the sandbox hosts or has expired is
// served anyway, with a warning: the operator may front the server
// differently.
func fromFiles(certFile, keyFile string, names Names, log *slog.Logger) (*tls.Config, error) {
	fc := &fileCert{certFile: certFile, keyFile: keyFile, names: names, log: log}
	if err := fc.load(); err != nil {
		return nil, err
	}
	return &tls.Config{GetCertificate: fc.getCertificate}, nil
}

func (fc *fileCert) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	if time.Since(fc.checked) >= reloadEvery {
		fc.checked = time.Now()
		if fc.fileStamp() != fc.stamp {
			if err := fc.load(); err != nil {
				fc.log.Error("tls: the certificate files changed but do not load; serving the previous pair", slog.Any("err", err))
			} else {
				fc.log.Info("tls: reloaded the certificate", slog.String("cert", fc.certFile), slog.Time("not_after", fc.pair.Leaf.NotAfter))
			}
		}
	}
	return fc.pair, nil
}

func (fc *fileCert) fileStamp() string {
	var s string
	for _, f := range []string{fc.certFile, fc.keyFile} {
		if fi, err := os.Stat(f); err == nil {
			s += fmt.Sprintf("%d@%d;", fi.Size(), fi.ModTime().UnixNano())
		}
	}
	return s
}

// load reads the pair into fc, or leaves fc as it was and says what is
// wrong.
func (fc *fileCert) load() error {
	stamp := fc.fileStamp()
	for _, f := range []string{fc.certFile, fc.keyFile} {
		if _, err := os.ReadFile(f); err != nil {
			return fmt.Errorf("tls: read %s: %w", f, errdefs.ErrInvalidArgument)
		}
	}
	pair, err := tls.LoadX509KeyPair(fc.certFile, fc.keyFile)
	if err != nil {
		return fmt.Errorf("tls: certificate %s with key %s: %v: %w", fc.certFile, fc.keyFile, err, errdefs.ErrInvalidArgument)
	}
	if pair.Leaf == nil {
		if pair.Leaf, err = x509.ParseCertificate(pair.Certificate[0]); err != nil {
			return fmt.Errorf("tls: certificate %s: %v: %w", fc.certFile, err, errdefs.ErrInvalidArgument)
		}
	}
	if err := pair.Leaf.VerifyHostname("49983-sandbox." + fc.names.domain()); err != nil {
		fc.log.Warn("tls: the certificate does not cover the sandbox hosts; clients reaching <port>-<id>."+fc.names.domain()+" will refuse it",
			slog.String("cert", fc.certFile), slog.Any("names", pair.Leaf.DNSNames))
	}
	if time.Now().After(pair.Leaf.NotAfter) {
		fc.log.Warn("tls: the certificate has expired", slog.String("cert", fc.certFile), slog.Time("not_after", pair.Leaf.NotAfter))
	}
	fc.pair, fc.stamp = &pair, stamp
	return nil
}
