package filesystem

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/soulbox/soulbox/internal/agent/users"
	"github.com/soulbox/soulbox/internal/errdefs"
)

// FuzzResolvePath checks the path resolution every Filesystem call goes
// through: it refuses only an empty path, a NUL byte and another user's
// ~, always with invalid_argument; what it resolves is absolute and
// clean whatever the home, an absolute path is itself, and a relative
// path that does not climb out with ".." stays under the home.
func FuzzResolvePath(f *testing.F) {
	for _, seed := range [][2]string{
		{"/home/user", "f.txt"}, {"/home/user", "~"}, {"/home/user", "~/a/../b"}, {"/home/user", "~root/x"},
		{"/home/user", "/etc/passwd"}, {"/home/user", "../../etc/shadow"}, {"", "x"}, {"rel/home", "a"},
		{"/home/user", "a\x00b"}, {"/home/user", ""}, {"/", "//a//b/"}, {"/home/user/", "./."},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, home, p string) {
		if strings.IndexByte(home, 0) >= 0 {
			return // a home comes from passwd, which has no NUL bytes
		}
		got, err := resolvePath(p, users.User{Name: "u", Home: home})
		refused := p == "" || strings.IndexByte(p, 0) >= 0 ||
			(strings.HasPrefix(p, "~") && p != "~" && !strings.HasPrefix(p, "~/"))
		if err != nil {
			if !refused || !errdefs.IsInvalidArgument(err) {
				t.Fatalf("resolvePath(%q) refused: %v", p, err)
			}
			return
		}
		if refused {
			t.Fatalf("resolvePath(%q) = %q, want it refused", p, got)
		}
		if !filepath.IsAbs(got) || filepath.Clean(got) != got || strings.IndexByte(got, 0) >= 0 {
			t.Fatalf("resolvePath(%q) with home %q = %q: not absolute and clean", p, home, got)
		}
		if filepath.IsAbs(p) && got != filepath.Clean(p) {
			t.Fatalf("resolvePath(%q) = %q, want the path itself", p, got)
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(p, "~"), "/")
		if !filepath.IsAbs(p) && filepath.IsAbs(home) && !climbs(rel) {
			h := filepath.Clean(home)
			if got != h && !strings.HasPrefix(got, strings.TrimSuffix(h, "/")+"/") {
				t.Fatalf("resolvePath(%q) with home %q = %q: outside the home", p, home, got)
			}
		}
	})
}

// climbs reports whether a relative path has a ".." element.
func climbs(p string) bool {
	for _, e := range strings.Split(p, "/") {
		if e == ".." {
			return true
		}
	}
	return false
}
