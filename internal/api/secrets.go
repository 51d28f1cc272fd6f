package api

import (
	"crypto/rand"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
)

// E2B's bounds on a secret.
const (
	// maxSecretValue is a value's size in bytes: what fits an HTTP
	// header, where the egress proxy will put it.
	maxSecretValue = 8192
	// maxSecretLabel and maxSecretDescription are in characters.
	maxSecretLabel       = 256
	maxSecretDescription = 1024
	// maxSecretHosts is how many hosts an allowlist names.
	maxSecretHosts = 10
)

// secretJSON is E2B's Secret (and CreatedSecret): a secret's metadata,
// never its value, with when it last changed.
type secretJSON struct {
	ID          string    `json:"id"`
	Label       string    `json:"label"`
	Description string    `json:"description"`
	Allowlist   []string  `json:"allowlist"`
	CreatedAt   time.Time `json:"createdAt"`
	UpdatedAt   time.Time `json:"updatedAt"`
}

func toSecretJSON(s store.Secret) secretJSON {
	allow := s.Allowlist
	if allow == nil {
		allow = []string{}
	}
	return secretJSON{ID: s.ID, Label: s.Label, Description: s.Description, Allowlist: allow, CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt}
}

// newSecretID returns a random UUID (version 4), the shape of E2B's
// secret ids.
func newSecretID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails since Go 1.24
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

func checkSecretValue(v string) error {
	if v == "" {
		return fmt.Errorf("value: required, the secret itself: %w", errdefs.ErrInvalidArgument)
	}
	if len(v) > maxSecretValue {
		return fmt.Errorf("value: %d bytes, at most %d: %w", len(v), maxSecretValue, errdefs.ErrInvalidArgument)
	}
	return nil
}

func checkSecretLabel(l string) error {
	if strings.TrimSpace(l) == "" {
		return fmt.Errorf("label: required, the secret's name: %w", errdefs.ErrInvalidArgument)
	}
	if n := utf8.RuneCountInString(l); n > maxSecretLabel {
		return fmt.Errorf("label: %d characters, at most %d: %w", n, maxSecretLabel, errdefs.ErrInvalidArgument)
	}
	return store.ValidateText("label", l)
}

func checkSecretDescription(d string) error {
	if n := utf8.RuneCountInString(d); n > maxSecretDescription {
		return fmt.Errorf("description: %d characters, at most %d: %w", n, maxSecretDescription, errdefs.ErrInvalidArgument)
	}
	return store.ValidateText("description", d)
}

// hostPattern is a host name whose labels may each be *, as E2B takes
// them: example.com, *.example.com, api.*.example.com.
var hostPattern = regexp.MustCompile(`^([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?|\*)(\.([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?|\*))*$`)

// checkAllowlist checks the hosts a secret may be sent to; none is any
// host (["*"], E2B's default).
func checkAllowlist(hosts []string) ([]string, error) {
	if len(hosts) == 0 {
		return []string{"*"}, nil
	}
	if len(hosts) > maxSecretHosts {
		return nil, fmt.Errorf("allowlist: %d hosts, at most %d: %w", len(hosts), maxSecretHosts, errdefs.ErrInvalidArgument)
	}
	for _, h := range hosts {
		if strings.Contains(h, "/") || strings.Contains(h, ":") {
			return nil, fmt.Errorf("allowlist: host %q: a host name only, without scheme, port or path (api.example.com, *.example.com): %w", h, errdefs.ErrInvalidArgument)
		}
		if len(h) > 253 || !hostPattern.MatchString(h) {
			return nil, fmt.Errorf("allowlist: host %q: want a host name whose labels are letters, digits and hyphens, or *: %w", h, errdefs.ErrInvalidArgument)
		}
	}
	return hosts, nil
}
