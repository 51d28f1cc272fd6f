package filesystem

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"connectrpc.com/connect"

	pb "github.com/soulbox/soulbox/api/envd/filesystem"
)

func TestMove(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	write(t, filepath.Join(f.home, "old.txt"), "data")

	// Relative paths; the destination's missing parents are created.
	res, err := f.client.Move(ctx, connect.NewRequest(&pb.MoveRequest{Source: "old.txt", Destination: "new/place/new.txt"}))
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(f.home, "new/place/new.txt")
	if e := res.Msg.GetEntry(); e.GetPath() != dst || e.GetName() != "new.txt" || e.GetType() != pb.FileType_FILE_TYPE_FILE || e.GetSize() != 4 {
		t.Errorf("entry %v", e)
	}
	if _, err := os.Stat(filepath.Join(f.home, "old.txt")); !os.IsNotExist(err) {
		t.Errorf("source still there: %v", err)
	}
	for _, d := range []string{"new", "new/place"} {
		if uid, gid := ownerOf(t, filepath.Join(f.home, d)); uid != f.uid || gid != f.gid {
			t.Errorf("%s owned by %d:%d, want %d:%d", d, uid, gid, f.uid, f.gid)
		}
	}

	// A directory moves with its contents; an absolute destination.
	res, err = f.client.Move(ctx, connect.NewRequest(&pb.MoveRequest{Source: "new", Destination: filepath.Join(f.dir, "moved")}))
	if err != nil {
		t.Fatal(err)
	}
	if e := res.Msg.GetEntry(); e.GetType() != pb.FileType_FILE_TYPE_DIRECTORY {
		t.Errorf("moved directory: %v", e)
	}
	if b, err := os.ReadFile(filepath.Join(f.dir, "moved/place/new.txt")); err != nil || string(b) != "data" {
		t.Errorf("moved contents: %q %v", b, err)
	}

	// A missing source creates nothing.
	_, err = f.client.Move(ctx, connect.NewRequest(&pb.MoveRequest{Source: "nothing", Destination: "never/made/x"}))
	wantCode(t, "move a missing source", err, connect.CodeNotFound)
	if _, err := os.Stat(filepath.Join(f.home, "never")); !os.IsNotExist(err) {
		t.Errorf("a failed move created the destination's parents: %v", err)
	}

	// A directory onto a non-empty one; a file in place of a parent.
	mkdir(t, filepath.Join(f.home, "d1"))
	mkdir(t, filepath.Join(f.home, "d2/full"))
	write(t, filepath.Join(f.home, "plain"), "")
	for _, tc := range []struct {
		src, dst string
		want     connect.Code
	}{
		{"d1", "d2", connect.CodeAlreadyExists},
		{"d1", "plain/x", connect.CodeInvalidArgument},
		{"", "x", connect.CodeInvalidArgument},
		{"d1", "", connect.CodeInvalidArgument},
	} {
		_, err := f.client.Move(ctx, connect.NewRequest(&pb.MoveRequest{Source: tc.src, Destination: tc.dst}))
		wantCode(t, "move "+tc.src+" to "+tc.dst, err, tc.want)
	}
}
