package users

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/soulbox/soulbox/internal/errdefs"
)

func cacheFiles(t *testing.T) (Files, func(path, body string)) {
	t.Helper()
	dir := t.TempDir()
	files := Files{Passwd: filepath.Join(dir, "passwd"), Group: filepath.Join(dir, "group")}
	write := func(p, s string) {
		t.Helper()
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(files.Passwd, "root:x:0:0:root:/root:/bin/bash\nuser:x:1000:1000::/home/user:/bin/bash\n")
	write(files.Group, "root:x:0:\nuser:x:1000:\nsudo:x:27:user\n")
	return files, write
}

// The cache answers as the files do, and sees every kind of change to
// them at the next lookup: a user added by replacing the file, an edit
// in place, an edit that keeps the size and the modification time.
func TestCacheFollowsTheFiles(t *testing.T) {
	old := settle
	settle = 0 // trust stamps at once, as after the files settled
	t.Cleanup(func() { settle = old })
	files, write := cacheFiles(t)
	c := NewCache(files)
	lookup := func(name string, want User) {
		t.Helper()
		got, err := c.Lookup(name)
		if err != nil {
			t.Fatalf("lookup %q: %v", name, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("lookup %q (-want +got):\n%s", name, diff)
		}
	}
	user := User{Name: "user", UID: 1000, GID: 1000, Groups: []uint32{1000, 27}, Home: "/home/user", Shell: "/bin/bash"}
	lookup("user", user)
	if _, ok := c.users["user"]; !ok {
		t.Fatal("a lookup of settled files was not kept")
	}
	// A caller changing what it got changes nothing kept.
	got, _ := c.Lookup("user")
	got.Groups[0] = 1
	lookup("user", user)

	// useradd: a new file renamed over the old one.
	tmp := files.Passwd + "+"
	write(tmp, "root:x:0:0:root:/root:/bin/bash\nuser:x:1000:1000::/home/user:/bin/bash\nnew:x:1001:1001::/home/new:/bin/sh\n")
	if err := os.Rename(tmp, files.Passwd); err != nil {
		t.Fatal(err)
	}
	lookup("new", User{Name: "new", UID: 1001, GID: 1001, Groups: []uint32{1001}, Home: "/home/new", Shell: "/bin/sh"})

	// An edit in place that changes the size: the group file.
	write(files.Group, "root:x:0:\nuser:x:1000:\nsudo:x:27:user\ndocker:x:999:user\n")
	user.Groups = []uint32{1000, 27, 999}
	lookup("user", user)

	// An edit in place of the same size, its modification time put back:
	// the change time still tells. (After a tick of the file clock, which
	// kernels without fine-grained timestamps need to tell them apart.)
	time.Sleep(20 * time.Millisecond)
	fi, err := os.Stat(files.Passwd)
	if err != nil {
		t.Fatal(err)
	}
	write(files.Passwd, "root:x:0:0:root:/root:/bin/bash\nuser:x:1000:1000::/home/user:/bin/dash\nnew:x:1001:1001::/home/new:/bin/sh\n")
	if err := os.Chtimes(files.Passwd, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	user.Shell = "/bin/dash"
	lookup("user", user)

	// A user removed is not found, and bad names are refused as by Files.
	write(files.Passwd, "root:x:0:0:root:/root:/bin/bash\n")
	if _, err := c.Lookup("user"); !errdefs.IsNotFound(err) {
		t.Errorf("removed user: %v, want not found", err)
	}
	if _, err := c.Lookup(""); !errdefs.IsInvalidArgument(err) {
		t.Errorf("empty name: %v, want invalid argument", err)
	}
}

// Files changed moments ago are read at every lookup: two writes of the
// same size within one tick of the file clock leave the same stamp.
func TestCacheRereadsFilesJustChanged(t *testing.T) {
	files, write := cacheFiles(t)
	c := NewCache(files)
	for _, shell := range []string{"/bin/aaa", "/bin/bbb", "/bin/ccc"} {
		write(files.Passwd, "root:x:0:0:root:/root:/bin/bash\nuser:x:1000:1000::/home/user:"+shell+"\n")
		got, err := c.Lookup("user")
		if err != nil || got.Shell != shell {
			t.Errorf("after writing shell %s: %+v, %v", shell, got, err)
		}
	}
	if len(c.users) != 0 {
		t.Errorf("kept users of files changed just now: %v", c.users)
	}
}

func BenchmarkLookup(b *testing.B) {
	b.Run("files", func(b *testing.B) {
		for b.Loop() {
			if _, err := System.Lookup("root"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cache", func(b *testing.B) {
		c := NewCache(System)
		for b.Loop() {
			if _, err := c.Lookup("root"); err != nil {
				b.Fatal(err)
			}
		}
	})
}
