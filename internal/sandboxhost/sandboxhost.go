// Package sandboxhost reads the host names of sandbox ports,
// <port>-<id>.<domain>: the proxy routes by them and certificates are
// issued for them, so both read them the same way.
package sandboxhost

import (
	"strconv"
	"strings"
)

// SplitLabel splits the first label of a sandbox host into its port, as
// written (digits only, for ParsePort to judge), and its sandbox id.
func SplitLabel(label string) (port, id string, ok bool) {
	port, id, ok = strings.Cut(label, "-")
	if !ok || port == "" || id == "" || strings.Trim(port, "0123456789") != "" {
		return "", "", false
	}
	return port, id, true
}

// ParsePort reads a TCP port written canonically: 1-65535 in decimal,
// without sign or leading zeros, so that each port has one spelling.
func ParsePort(s string) (int, bool) {
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil || n == 0 || strconv.FormatUint(n, 10) != s {
		return 0, false
	}
	return int(n), true
}
