package filesystem

import (
	"testing"

	"github.com/soulbox/soulbox/internal/agent/users"
	"github.com/soulbox/soulbox/internal/errdefs"
)

func TestResolvePath(t *testing.T) {
	u := users.User{Name: "user", Home: "/home/user"}
	for _, tc := range []struct {
		in, want string
		invalid  bool
	}{
		{in: "/etc/passwd", want: "/etc/passwd"},
		{in: "/a/./b/../c/", want: "/a/c"},
		{in: "file.txt", want: "/home/user/file.txt"},
		{in: "./d/../e", want: "/home/user/e"},
		{in: "../other", want: "/home/other"},
		{in: "~", want: "/home/user"},
		{in: "~/x/y", want: "/home/user/x/y"},
		{in: "/", want: "/"},
		{in: "", invalid: true},
		{in: "~root/x", invalid: true},
		{in: "a\x00b", invalid: true},
	} {
		got, err := resolvePath(tc.in, u)
		if tc.invalid {
			if !errdefs.IsInvalidArgument(err) {
				t.Errorf("resolvePath(%q) = %q, %v; want invalid argument", tc.in, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("resolvePath(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

// A user whose passwd entry has no home, or a relative one, still gets
// absolute paths: never ones relative to the agent's working directory.
func TestResolvePathWithoutAbsoluteHome(t *testing.T) {
	for _, tc := range []struct{ home, in, want string }{
		{"", "x", "/x"},
		{"", "~", "/"},
		{"rel/home", "a/b", "/rel/home/a/b"},
		{"rel", "~/c", "/rel/c"},
	} {
		got, err := resolvePath(tc.in, users.User{Name: "u", Home: tc.home})
		if err != nil || got != tc.want {
			t.Errorf("resolvePath(%q) with home %q = %q, %v; want %q", tc.in, tc.home, got, err, tc.want)
		}
	}
}
