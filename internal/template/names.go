package template

import (
	"fmt"
	"slices"
	"strings"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// aliases maps every accepted name to its canonical template. E2B clients
// ask for "code-interpreter-v1"; base carries everything that template has
// that SoulBox supports, so it answers to that name too.
var aliases = map[string]string{
	"base":                "base",
	"code-interpreter-v1": "base",
}

// maxNameLen bounds names so they stay usable as file names.
const maxNameLen = 128

// Resolve returns the canonical name of the template called name. Malformed
// names fail with ErrInvalidArgument, unknown ones with ErrNotFound.
func (s *Store) Resolve(name string) (string, error) {
	return resolve(name)
}

func resolve(name string) (string, error) {
	if err := validateName(name); err != nil {
		return "", err
	}
	canonical, ok := aliases[name]
	if !ok {
		return "", fmt.Errorf("template %q: %w (known templates: %s)",
			name, errdefs.ErrNotFound, strings.Join(knownNames(), ", "))
	}
	return canonical, nil
}

// validateName rejects names that could escape the cache directory once
// joined to it, before they are looked up at all.
func validateName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("template name is empty: %w", errdefs.ErrInvalidArgument)
	case len(name) > maxNameLen:
		return fmt.Errorf("template name longer than %d characters: %w", maxNameLen, errdefs.ErrInvalidArgument)
	case strings.Contains(name, "/"), strings.Contains(name, ".."):
		return fmt.Errorf("template name %q: must not contain '/' or '..': %w", name, errdefs.ErrInvalidArgument)
	case strings.HasPrefix(name, "."):
		// Hidden names are the store's own (builds in progress).
		return fmt.Errorf("template name %q: must not start with '.': %w", name, errdefs.ErrInvalidArgument)
	}
	for _, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
			r == '-' || r == '_' || r == '.'
		if !ok {
			return fmt.Errorf("template name %q: only letters, digits, '-', '_' and '.' are allowed: %w",
				name, errdefs.ErrInvalidArgument)
		}
	}
	return nil
}

// knownNames lists every accepted name, sorted, for error messages.
func knownNames() []string {
	names := make([]string, 0, len(aliases))
	for n := range aliases {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// aliasesOf lists the names other than canonical that resolve to it.
func aliasesOf(canonical string) []string {
	var out []string
	for _, n := range knownNames() {
		if n != canonical && aliases[n] == canonical {
			out = append(out, n)
		}
	}
	return out
}

// canonicalNames lists the distinct templates, sorted.
func canonicalNames() []string {
	var out []string
	for _, c := range aliases {
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	slices.Sort(out)
	return out
}
