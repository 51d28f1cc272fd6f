package state

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
)

// FuzzBasicUser checks the user name read from Authorization, which every
// agent request runs as: the name before the first ":" of a well-formed
// Basic credential, and "" for anything else.
func FuzzBasicUser(f *testing.F) {
	f.Add("user:", false)
	f.Add("root", false)
	f.Add("a:b:c", false)
	f.Add("Basic !!!", true)
	f.Add("Bearer x", true)
	f.Add("", false)
	f.Fuzz(func(t *testing.T, s string, raw bool) {
		h := http.Header{}
		if raw {
			h.Set("Authorization", s)
		} else {
			h.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(s)))
		}
		got := BasicUser(h)
		if strings.Contains(got, ":") {
			t.Fatalf("user %q holds a colon", got)
		}
		if !raw {
			if want, _, _ := strings.Cut(s, ":"); got != want {
				t.Fatalf("Basic %q: user %q, want %q", s, got, want)
			}
		}
	})
}
