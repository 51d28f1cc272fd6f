package filesystem

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"connectrpc.com/connect"
	"golang.org/x/sys/unix"

	pb "github.com/soulbox/soulbox/api/envd/filesystem"
	"github.com/soulbox/soulbox/internal/testutil"
)

func stat(t *testing.T, f *fixture, path string) *pb.EntryInfo {
	t.Helper()
	res, err := f.client.Stat(context.Background(), connect.NewRequest(&pb.StatRequest{Path: path}))
	if err != nil {
		t.Fatalf("stat %s: %v", path, err)
	}
	return res.Msg.GetEntry()
}

func TestEntrySymlinks(t *testing.T) {
	f := newFixture(t)
	target := filepath.Join(f.home, "target.txt")
	write(t, target, "abc")
	if err := os.Chmod(target, 0o600); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(f.home, "dir")
	mkdir(t, dir)
	for link, to := range map[string]string{
		"tofile":  "target.txt",     // relative
		"todir":   dir,              // absolute
		"chain":   "tofile",         // through another link
		"broken":  "does/not/exist", // dangling
		"selfish": "selfish",        // a loop
		"updir":   "../user/dir/..", // resolves to the home
	} {
		if err := os.Symlink(to, filepath.Join(f.home, link)); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name, target string
		typ          pb.FileType
		mode         uint32
	}{
		// A link reports its target's type and permission bits, and the
		// fully resolved target, as E2B's envd does.
		{"tofile", target, pb.FileType_FILE_TYPE_FILE, 0o600},
		{"todir", dir, pb.FileType_FILE_TYPE_DIRECTORY, 0o755},
		{"chain", target, pb.FileType_FILE_TYPE_FILE, 0o600},
		{"updir", f.home, pb.FileType_FILE_TYPE_DIRECTORY, 0o755},
		// Unresolvable: a symlink, with its text as target.
		{"broken", "does/not/exist", pb.FileType_FILE_TYPE_SYMLINK, 0o777},
		{"selfish", "selfish", pb.FileType_FILE_TYPE_SYMLINK, 0o777},
	} {
		e := stat(t, f, tc.name)
		if e.GetType() != tc.typ || e.GetSymlinkTarget() != tc.target || e.SymlinkTarget == nil || e.GetMode() != tc.mode ||
			e.GetPermissions() != "Lrwxrwxrwx" || e.GetPath() != filepath.Join(f.home, tc.name) || e.GetName() != tc.name {
			t.Errorf("%s: %v", tc.name, e)
		}
	}
}

func TestEntryOwners(t *testing.T) {
	testutil.RequiresRoot(t)
	f := newFixture(t)
	for _, tc := range []struct {
		uid, gid     int
		owner, group string
	}{
		{0, 0, "root", "root"},
		{testUID, testGID, "user", "users"},
		{4321, 4322, "4321", "4322"}, // unknown ids: numbers
	} {
		p := filepath.Join(f.home, "owned")
		write(t, p, "")
		if err := os.Chown(p, tc.uid, tc.gid); err != nil {
			t.Fatal(err)
		}
		if e := stat(t, f, p); e.GetOwner() != tc.owner || e.GetGroup() != tc.group {
			t.Errorf("%d:%d is %s:%s, want %s:%s", tc.uid, tc.gid, e.GetOwner(), e.GetGroup(), tc.owner, tc.group)
		}
	}

	// Names follow the sandbox's files as they change.
	write(t, f.files.Passwd, "root:x:0:0:root:/root:/bin/bash\nuser:x:1234:1235::"+f.home+":/bin/bash\nlater:x:4321:4321::/:/bin/sh\n")
	if e := stat(t, f, filepath.Join(f.home, "owned")); e.GetOwner() != "later" {
		t.Errorf("after adding a user, owner %q", e.GetOwner())
	}
}

func TestEntryMetadata(t *testing.T) {
	f := newFixture(t)
	p := filepath.Join(f.home, "up.txt")
	write(t, p, "x")
	for k, v := range map[string]string{"user.e2b.owner": "team-a", "user.e2b.bin": "\xff\xfe", "user.other": "not ours"} {
		if err := unix.Setxattr(p, k, []byte(v), 0); err != nil {
			t.Skipf("user xattrs unsupported here: %v", err)
		}
	}
	md := stat(t, f, p).GetMetadata()
	if len(md) != 2 || md["owner"] != "team-a" || md["bin"] != "\uFFFD" {
		t.Errorf("metadata %q", md)
	}
	if md := stat(t, f, f.home).GetMetadata(); len(md) != 0 {
		t.Errorf("metadata of a directory without any: %q", md)
	}
}

// Names on disk are bytes; the protocol's strings must be UTF-8. Entries
// with other names are listed with U+FFFD in place of the bad bytes.
func TestNonUTF8Names(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	bad := filepath.Join(f.home, "bad\xffname.txt")
	write(t, bad, "x")
	mkdir(t, filepath.Join(f.home, "dir\xfe"))
	write(t, filepath.Join(f.home, "dir\xfe", "inner.txt"), "y")
	if err := os.Symlink("bad\xffname.txt", filepath.Join(f.home, "link")); err != nil {
		t.Fatal(err)
	}

	for name, c := range map[string]interface {
		ListDir(context.Context, *connect.Request[pb.ListDirRequest]) (*connect.Response[pb.ListDirResponse], error)
	}{"proto": f.client, "json": f.json} {
		res, err := c.ListDir(ctx, connect.NewRequest(&pb.ListDirRequest{Path: f.home, Depth: 2}))
		if err != nil {
			t.Fatalf("%s: list: %v", name, err)
		}
		var paths []string
		for _, e := range res.Msg.GetEntries() {
			if !utf8.ValidString(e.GetName()) || !utf8.ValidString(e.GetPath()) || !utf8.ValidString(e.GetSymlinkTarget()) {
				t.Errorf("%s: invalid UTF-8 in %q", name, e)
			}
			paths = append(paths, strings.TrimPrefix(e.GetPath(), f.home+"/"))
		}
		want := []string{"bad\uFFFDname.txt", "dir\uFFFD", "dir\uFFFD/inner.txt", "link"}
		if !slices.Equal(paths, want) {
			t.Errorf("%s: listed %q, want %q", name, paths, want)
		}
	}

	e := stat(t, f, "link")
	if e.GetSymlinkTarget() != strings.ToValidUTF8(bad, "\uFFFD") || e.GetType() != pb.FileType_FILE_TYPE_FILE {
		t.Errorf("link to a non-UTF-8 name: %v", e)
	}
	// The name returned does not address the file: the bytes are lost.
	_, err := f.client.Stat(ctx, connect.NewRequest(&pb.StatRequest{Path: "bad\uFFFDname.txt"}))
	wantCode(t, "stat by the replaced name", err, connect.CodeNotFound)
}
