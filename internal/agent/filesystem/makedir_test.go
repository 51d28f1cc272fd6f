package filesystem

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"connectrpc.com/connect"

	pb "github.com/soulbox/soulbox/api/envd/filesystem"
)

func TestMakeDir(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()

	res, err := f.client.MakeDir(ctx, connect.NewRequest(&pb.MakeDirRequest{Path: "a/b/c"}))
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(f.home, "a/b/c")
	if e := res.Msg.GetEntry(); e.GetPath() != want || e.GetName() != "c" || e.GetType() != pb.FileType_FILE_TYPE_DIRECTORY || e.GetOwner() != "user" {
		t.Errorf("entry %v", e)
	}
	// Every directory created belongs to the user.
	for _, d := range []string{"a", "a/b", "a/b/c"} {
		if uid, gid := ownerOf(t, filepath.Join(f.home, d)); uid != f.uid || gid != f.gid {
			t.Errorf("%s owned by %d:%d, want %d:%d", d, uid, gid, f.uid, f.gid)
		}
	}

	write(t, filepath.Join(f.home, "file"), "x")
	for _, tc := range []struct {
		path string
		want connect.Code
	}{
		{"a/b/c", connect.CodeAlreadyExists}, // the SDKs' makeDir returns false
		{f.home, connect.CodeAlreadyExists},
		{"file", connect.CodeInvalidArgument},         // a file is in the way
		{"file/sub/dir", connect.CodeInvalidArgument}, // a file in place of a parent
		{"", connect.CodeInvalidArgument},
	} {
		_, err := f.client.MakeDir(ctx, connect.NewRequest(&pb.MakeDirRequest{Path: tc.path}))
		wantCode(t, "make dir "+tc.path, err, tc.want)
	}
	// A symlink to a directory is a directory.
	if err := os.Symlink("a", filepath.Join(f.home, "link")); err != nil {
		t.Fatal(err)
	}
	_, err = f.client.MakeDir(ctx, connect.NewRequest(&pb.MakeDirRequest{Path: "link"}))
	wantCode(t, "make dir over a symlink to one", err, connect.CodeAlreadyExists)
	if _, err := f.client.MakeDir(ctx, connect.NewRequest(&pb.MakeDirRequest{Path: "link/through"})); err != nil {
		t.Errorf("make dir through a symlink: %v", err)
	}
}

func TestMakeDirOwnership(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	// Only the directories created change owner, not the existing parents.
	parent := filepath.Join(f.dir, "existing")
	mkdir(t, parent)
	before, _ := ownerOf(t, parent)
	if _, err := f.client.MakeDir(ctx, connect.NewRequest(&pb.MakeDirRequest{Path: filepath.Join(parent, "x/y")})); err != nil {
		t.Fatal(err)
	}
	if uid, _ := ownerOf(t, parent); uid != before {
		t.Errorf("existing parent changed owner to %d", uid)
	}
	for _, d := range []string{"x", "x/y"} {
		if uid, gid := ownerOf(t, filepath.Join(parent, d)); uid != f.uid || gid != f.gid {
			t.Errorf("%s owned by %d:%d, want the user's %d:%d", d, uid, gid, f.uid, f.gid)
		}
	}

	if os.Getuid() != 0 {
		t.Skip("acting for another user needs root")
	}
	// For root, relative paths start at root's home; directories are root's.
	res, err := f.client.MakeDir(ctx, as("root", &pb.MakeDirRequest{Path: filepath.Join(parent, "byroot")}))
	if err != nil {
		t.Fatal(err)
	}
	if uid, gid := ownerOf(t, filepath.Join(parent, "byroot")); uid != 0 || gid != 0 || res.Msg.GetEntry().GetOwner() != "root" {
		t.Errorf("root's directory owned by %d:%d (%s)", uid, gid, res.Msg.GetEntry().GetOwner())
	}
}
