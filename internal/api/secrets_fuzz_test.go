package api

import (
	"errors"
	"strings"
	"testing"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// FuzzSecretBody: any PATCH /secrets body decodes or is refused as bad
// input, and an allowlist that passes names only host patterns: no
// scheme, port or path, labels of letters, digits, hyphens or *.
func FuzzSecretBody(f *testing.F) {
	for _, s := range []string{`{"label":"L","allowlist":["api.example.com","*.example.com"]}`, `{"allowlist":["https://x/y"]}`,
		`{"value":""}`, `{"allowlist":["a..b"]}`, `{"allowlist":["-a.com"]}`, `{}`, `{"label":1}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var b updateSecretBody
		if err := decodeStrictBody(strings.NewReader(body), &b); err != nil {
			if !errors.Is(err, errdefs.ErrInvalidArgument) {
				t.Fatalf("decode %q: %v, want ErrInvalidArgument", body, err)
			}
			return
		}
		if b.Allowlist == nil {
			return
		}
		hosts, err := checkAllowlist(*b.Allowlist)
		if err != nil {
			if !errors.Is(err, errdefs.ErrInvalidArgument) {
				t.Fatalf("allowlist %q: %v, want ErrInvalidArgument", *b.Allowlist, err)
			}
			return
		}
		for _, h := range hosts {
			if h == "" || strings.ContainsAny(h, "/: \x00") || strings.Contains(h, "..") || strings.HasPrefix(h, "-") {
				t.Fatalf("allowlist %q accepted host %q", *b.Allowlist, h)
			}
		}
	})
}
