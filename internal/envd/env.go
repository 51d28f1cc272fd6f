package envd

import (
	"fmt"
	"sort"
	"strings"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// CheckEnv says which variable no process could be started with: an
// empty name, a name holding = or NUL, or a value holding NUL. The agent
// refuses such variables at /init, where they would make every later
// command fail, so the control plane refuses them first, before a
// sandbox is made for them.
func CheckEnv(vars map[string]string) error {
	names := make([]string, 0, len(vars))
	for k := range vars {
		names = append(names, k)
	}
	sort.Strings(names) // the same variable is named whatever the map order
	for _, k := range names {
		switch {
		case k == "" || strings.ContainsAny(k, "=\x00"):
			return fmt.Errorf("environment variable name %q: it must be non-empty, without = or NUL: %w", k, errdefs.ErrInvalidArgument)
		case strings.ContainsRune(vars[k], 0):
			return fmt.Errorf("environment variable %q: the value holds a NUL byte: %w", k, errdefs.ErrInvalidArgument)
		}
	}
	return nil
}
