package server

import (
	"fmt"
	"net"
	"strings"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// maxNodeListenNames bounds --node-listen-names: a certificate's names
// are a handful, not a list to fill.
const maxNodeListenNames = 32

// nodeListenNames reads NodeListenNames: each a DNS name or an IP
// address, none empty.
func (c Config) nodeListenNames() ([]string, error) {
	if strings.TrimSpace(c.NodeListenNames) == "" {
		return nil, nil
	}
	var names []string
	for _, n := range strings.Split(c.NodeListenNames, ",") {
		n = strings.TrimSpace(n)
		if net.ParseIP(n) == nil && !dnsName(n) {
			return nil, fmt.Errorf("node listen name %q: want a DNS name (e.g. soulbox-nodes.soulbox.svc) or an IP address, comma-separated: %w", n, errdefs.ErrInvalidArgument)
		}
		names = append(names, n)
	}
	if len(names) > maxNodeListenNames {
		return nil, fmt.Errorf("%d node listen names: at most %d: %w", len(names), maxNodeListenNames, errdefs.ErrInvalidArgument)
	}
	return names, nil
}

// dnsName reports whether n is a DNS name of letters, digits and
// hyphens in dot-separated labels (a leading "*." wildcard is not one).
func dnsName(n string) bool {
	if n == "" || len(n) > 253 {
		return false
	}
	for _, label := range strings.Split(strings.TrimSuffix(n, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}
