package users

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/soulbox/soulbox/internal/errdefs"
)

func TestLookup(t *testing.T) {
	dir := t.TempDir()
	files := Files{Passwd: filepath.Join(dir, "passwd"), Group: filepath.Join(dir, "group")}
	write := func(p, s string) {
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(files.Passwd, "root:x:0:0:root:/root:/bin/bash\nbroken:x:nope:0::/:/bin/sh\nuser:x:1000:1000::/home/user:/bin/bash\nnohome:x:1001:1001:::/bin/sh\n")
	write(files.Group, "root:x:0:\nsudo:x:27:user\nuser:x:1000:\ndocker:x:999:other,user\n")

	for _, tc := range []struct {
		name string
		want User
		err  error
	}{
		{"root", User{Name: "root", UID: 0, GID: 0, Groups: []uint32{0}, Home: "/root", Shell: "/bin/bash"}, nil},
		{"user", User{Name: "user", UID: 1000, GID: 1000, Groups: []uint32{1000, 27, 999}, Home: "/home/user", Shell: "/bin/bash"}, nil},
		{"1000", User{Name: "user", UID: 1000, GID: 1000, Groups: []uint32{1000, 27, 999}, Home: "/home/user", Shell: "/bin/bash"}, nil},
		{"nohome", User{Name: "nohome", UID: 1001, GID: 1001, Groups: []uint32{1001}, Home: "/", Shell: "/bin/sh"}, nil},
		{"broken", User{}, errdefs.ErrNotFound},
		{"ghost", User{}, errdefs.ErrNotFound},
		{"", User{}, errdefs.ErrInvalidArgument},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := files.Lookup(tc.name)
			if tc.err != nil {
				if !errdefs.IsNotFound(err) && !errdefs.IsInvalidArgument(err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("(-want +got)\n%s", d)
			}
		})
	}
}
