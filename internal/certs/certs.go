// Package certs gives the server's listener its certificates: a key pair
// from files, a local certificate authority kept in the data directory
// that signs a certificate for each name on demand, or certificates from
// an ACME authority (Let's Encrypt or any RFC 8555 server). Whatever the
// source, only the names of the server are served: its domain, the sandbox
// hosts <port>-<id>.<domain> one label under it, and, for the local
// authority, the addresses clients connect to.
package certs

import (
	"fmt"
	"net/url"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// Modes of Config.Mode.
const (
	// ModeOff serves plain HTTP.
	ModeOff = "off"
	// ModeFiles serves the key pair of Config.CertFile and Config.KeyFile.
	ModeFiles = "files"
	// ModeSelfSigned serves certificates of a local authority kept in the
	// data directory.
	ModeSelfSigned = "self-signed"
	// ModeACME serves certificates from an ACME directory.
	ModeACME = "acme"
)

// DefaultACMEDirectory is Let's Encrypt's production directory.
const DefaultACMEDirectory = "https://acme-v02.api.letsencrypt.org/directory"

// Config says where certificates come from.
type Config struct {
	// Mode is off, self-signed or acme; empty means files when CertFile
	// or KeyFile is set, off otherwise.
	Mode string
	// CertFile and KeyFile are a PEM certificate (chain) and its key.
	CertFile, KeyFile string
	// ACMEDirectory is the directory URL of the ACME authority.
	ACMEDirectory string
	// ACMEEmail is the contact address of the ACME account; optional.
	ACMEEmail string
	// ACMECAFile, when set, holds the PEM roots that the ACME directory's
	// own HTTPS certificate chains to (a private authority); the system
	// roots otherwise.
	ACMECAFile string
}

// Effective is the mode Config selects, with an empty Mode resolved.
func (c Config) Effective() string {
	switch {
	case c.Mode != "":
		return c.Mode
	case c.CertFile != "" || c.KeyFile != "":
		return ModeFiles
	}
	return ModeOff
}

// Enabled reports whether the listener serves TLS.
func (c Config) Enabled() bool { return c.Effective() != ModeOff }

// Validate names the first wrong field. It does not read the files: New
// does, and says what is wrong with them.
func (c Config) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf(format+": %w", append(args, errdefs.ErrInvalidArgument)...)
	}
	mode := c.Effective()
	switch mode {
	case ModeOff, ModeSelfSigned, ModeACME:
		if c.CertFile != "" || c.KeyFile != "" {
			return bad("tls %q takes no certificate or key file: drop --tls to serve --tls-cert and --tls-key", mode)
		}
	case ModeFiles:
		if c.CertFile == "" {
			return bad("tls key file %q given without a certificate: add --tls-cert", c.KeyFile)
		}
		if c.KeyFile == "" {
			return bad("tls certificate file %q given without its key: add --tls-key", c.CertFile)
		}
	default:
		return bad("tls mode %q: want off, self-signed or acme (or --tls-cert and --tls-key for files)", c.Mode)
	}
	if mode != ModeACME && (c.ACMEDirectory != "" || c.ACMEEmail != "" || c.ACMECAFile != "") {
		return bad("acme settings need --tls=acme")
	}
	if mode == ModeACME && c.ACMEDirectory != "" {
		u, err := url.Parse(c.ACMEDirectory)
		if err != nil || u.Scheme != "https" || u.Host == "" {
			return bad("acme directory %q: want an https:// URL", c.ACMEDirectory)
		}
	}
	return nil
}

func (c Config) acmeDirectory() string {
	if c.ACMEDirectory != "" {
		return c.ACMEDirectory
	}
	return DefaultACMEDirectory
}
