package store

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// Texts the store keeps must be valid UTF-8 without NUL characters:
// PostgreSQL's text cannot hold either (SQLite's can), and every backend
// must keep the same. What clients send (ids, names, metadata, tags) is
// refused when it breaks the rule, so the client learns what to fix; what
// processes write (build logs and reasons, event messages) is repaired by
// SanitizeText, since refusing it would lose the record of what happened.

// ValidateText refuses s unless a backend can keep it as it is; what
// names the field in the error.
func ValidateText(what, s string) error {
	if strings.IndexByte(s, 0) >= 0 {
		return fmt.Errorf("%s contains a NUL character (\\u0000), which cannot be stored: remove it: %w", what, errdefs.ErrInvalidArgument)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%s is not valid UTF-8: %w", what, errdefs.ErrInvalidArgument)
	}
	return nil
}

// SanitizeText is s as every backend keeps it: invalid UTF-8 sequences
// become U+FFFD and NUL characters are dropped.
func SanitizeText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.ReplaceAll(s, "\x00", "")
}

// ValidateMetadata checks a sandbox's metadata as CreateSandbox will, for
// a caller that must refuse it before anything else is done.
func ValidateMetadata(m map[string]string) error {
	return validateMap("metadata", m)
}

// validateTexts checks named texts in order and returns the first error.
func validateTexts(texts ...[2]string) error {
	for _, t := range texts {
		if err := ValidateText(t[0], t[1]); err != nil {
			return err
		}
	}
	return nil
}

// validateMap checks the keys and values of a map of texts.
func validateMap(what string, m map[string]string) error {
	for k, v := range m {
		if err := ValidateText(what+" key", k); err != nil {
			return err
		}
		if err := ValidateText(fmt.Sprintf("%s %q", what, k), v); err != nil {
			return err
		}
	}
	return nil
}
