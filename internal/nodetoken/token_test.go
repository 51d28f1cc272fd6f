package nodetoken

import (
	"errors"
	"strings"
	"testing"

	"github.com/soulbox/soulbox/internal/errdefs"
)

func TestRoundTrip(t *testing.T) {
	fp := strings.Repeat("ab", 32)
	tk := New(fp)
	got, err := Parse(" " + tk.String() + "\n")
	if err != nil || got != tk {
		t.Fatalf("Parse(%q) = %+v, %v", tk.String(), got, err)
	}
	if tk.Hash() != SecretHash(tk.ID, tk.Secret) || len(tk.Hash()) != 64 || strings.Contains(tk.Hash(), tk.Secret) {
		t.Errorf("hash %q", tk.Hash())
	}
	if New(fp) == tk {
		t.Errorf("two tokens are the same")
	}
}

func TestParseRefuses(t *testing.T) {
	fp := strings.Repeat("ab", 32)
	for _, s := range []string{
		"",
		"sbn1",
		"sbn2.0123abcd." + strings.Repeat("0", 32) + "." + fp,
		"sbn1.0123abcd." + strings.Repeat("0", 32),
		"sbn1.0123ABCD." + strings.Repeat("0", 32) + "." + fp,
		"sbn1.0123abc." + strings.Repeat("0", 32) + "." + fp,
		"sbn1.0123abcd." + strings.Repeat("0", 31) + "." + fp,
		"sbn1.0123abcd." + strings.Repeat("0", 32) + "." + fp[:63],
		"sbn1.0123abcd." + strings.Repeat("0", 32) + "." + fp + ".x",
	} {
		if _, err := Parse(s); !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("Parse(%q) = %v, want invalid argument", s, err)
		}
	}
}
