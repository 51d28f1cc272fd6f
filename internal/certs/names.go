package certs

import (
	"context"
	"fmt"
	"strings"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/sandboxhost"
)

// Names says which server names get a certificate.
type Names struct {
	// Domain is the domain of sandbox hosts, <port>-<id>.<Domain>; the
	// domain itself and api.<Domain> name the API.
	Domain string
	// Sandbox, when set, reports whether a sandbox exists; an ACME
	// authority is only asked for the hosts of sandboxes that do, so that
	// made-up names cannot spend the authority's rate limits.
	Sandbox func(ctx context.Context, id string) bool
}

func (n Names) domain() string { return strings.Trim(strings.ToLower(n.Domain), ".") }

// check says whether name is one of the server's: the domain, api.<domain>,
// or a sandbox host <port>-<id>.<domain>, whose sandbox id it returns. A
// sandbox host must name a sandbox Sandbox knows when strict.
func (n Names) check(ctx context.Context, name string, strict bool) (string, error) {
	name = strings.TrimSuffix(strings.ToLower(name), ".")
	d := n.domain()
	if name == d || name == "api."+d {
		return "", nil
	}
	label, ok := strings.CutSuffix(name, "."+d)
	if !ok || label == "" || strings.Contains(label, ".") {
		return "", fmt.Errorf("server name %q is not %s or a host one label under it: %w", name, d, errdefs.ErrPermissionDenied)
	}
	port, id, ok := sandboxhost.SplitLabel(label)
	if !ok {
		return "", fmt.Errorf("server name %q is not a sandbox host <port>-<id>.%s: %w", name, d, errdefs.ErrPermissionDenied)
	}
	if _, ok := sandboxhost.ParsePort(port); !ok {
		return "", fmt.Errorf("server name %q: port %q is not 1-65535 written without leading zeros: %w", name, port, errdefs.ErrPermissionDenied)
	}
	if strict && n.Sandbox != nil && !n.Sandbox(ctx, id) {
		return "", fmt.Errorf("server name %q: no sandbox %s: %w", name, id, errdefs.ErrNotFound)
	}
	return id, nil
}
