package filesystem

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"golang.org/x/sys/unix"

	pb "github.com/soulbox/soulbox/api/envd/filesystem"
	"github.com/soulbox/soulbox/internal/testutil"
)

// list returns the paths ListDir lists under dir, relative to dir, and
// the entries by relative path.
func list(t *testing.T, f *fixture, dir string, depth uint32) ([]string, map[string]*pb.EntryInfo) {
	t.Helper()
	res, err := f.client.ListDir(context.Background(), connect.NewRequest(&pb.ListDirRequest{Path: dir, Depth: depth}))
	if err != nil {
		t.Fatalf("list %s depth %d: %v", dir, depth, err)
	}
	abs := dir
	if !filepath.IsAbs(dir) {
		abs = filepath.Join(f.home, dir)
	}
	var paths []string
	byPath := map[string]*pb.EntryInfo{}
	for _, e := range res.Msg.GetEntries() {
		rel := strings.TrimPrefix(e.GetPath(), abs+"/")
		paths = append(paths, rel)
		byPath[rel] = e
	}
	return paths, byPath
}

func TestListDir(t *testing.T) {
	f := newFixture(t)
	root := filepath.Join(f.home, "proj")
	mkdir(t, filepath.Join(root, "a/b/c"))
	write(t, filepath.Join(root, "a/b/c/deep.txt"), "x")
	write(t, filepath.Join(root, "a/b/mid.txt"), "x")
	write(t, filepath.Join(root, "top.txt"), "x")
	// Symlinks that would loop if followed.
	for link, to := range map[string]string{"loop": ".", "a/up": "..", "linkdir": "a", "a/b/root": "/"} {
		if err := os.Symlink(to, filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
	}

	direct := []string{"a", "linkdir", "loop", "top.txt"}
	for _, depth := range []uint32{0, 1} {
		if got, _ := list(t, f, "proj", depth); !slices.Equal(got, direct) {
			t.Errorf("depth %d: %q, want %q", depth, got, direct)
		}
	}
	got, byPath := list(t, f, root, 3)
	want := []string{"a", "a/b", "a/b/c", "a/b/mid.txt", "a/b/root", "a/up", "linkdir", "loop", "top.txt"}
	if !slices.Equal(got, want) {
		t.Errorf("depth 3: %q, want %q", got, want)
	}
	if e := byPath["loop"]; e.GetType() != pb.FileType_FILE_TYPE_DIRECTORY || e.GetSymlinkTarget() != root {
		t.Errorf("loop entry: %v", e)
	}
	if e := byPath["a/b"]; e.GetName() != "b" || e.GetOwner() == "" || e.GetModifiedTime() == nil {
		t.Errorf("a/b entry: %v", e)
	}
	// Deep enough for everything: still finite, links still not followed.
	got, _ = list(t, f, root, 1000)
	if want := slices.Insert(slices.Clone(want), 3, "a/b/c/deep.txt"); !slices.Equal(got, want) {
		t.Errorf("depth 1000: %q, want %q", got, want)
	}

	// The directory may be a symlink; paths stay under the name asked for.
	if got, _ := list(t, f, filepath.Join(root, "linkdir"), 1); !slices.Equal(got, []string{"b", "up"}) {
		t.Errorf("through a symlink: %q", got)
	}

	// An empty directory is an empty list.
	mkdir(t, filepath.Join(f.home, "empty"))
	if got, _ := list(t, f, "empty", 1); len(got) != 0 {
		t.Errorf("empty: %q", got)
	}

	for _, tc := range []struct {
		path string
		want connect.Code
	}{
		{"proj/top.txt", connect.CodeInvalidArgument},
		{"proj/missing", connect.CodeNotFound},
		{"", connect.CodeInvalidArgument},
	} {
		_, err := f.client.ListDir(context.Background(), connect.NewRequest(&pb.ListDirRequest{Path: tc.path}))
		wantCode(t, "list "+tc.path, err, tc.want)
	}
}

// A bind mount of a directory inside itself is a loop without symlinks.
func TestListDirBindMountLoop(t *testing.T) {
	testutil.RequiresRoot(t)
	f := newFixture(t)
	root := filepath.Join(f.dir, "tree")
	mnt := filepath.Join(root, "sub", "mnt")
	mkdir(t, mnt)
	write(t, filepath.Join(root, "file"), "x")
	if err := unix.Mount(root, mnt, "", unix.MS_BIND, ""); err != nil {
		t.Skipf("bind mount: %v", err)
	}
	t.Cleanup(func() { _ = unix.Unmount(mnt, unix.MNT_DETACH) })
	got, _ := list(t, f, root, 50)
	if want := []string{"file", "sub", "sub/mnt"}; !slices.Equal(got, want) {
		t.Errorf("listed %q, want %q", got, want)
	}
}
