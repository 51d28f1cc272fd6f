package filesystem

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"connectrpc.com/connect"

	pb "github.com/soulbox/soulbox/api/envd/filesystem"
)

func TestRemove(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	write(t, filepath.Join(f.home, "file"), "x")
	mkdir(t, filepath.Join(f.home, "tree/a/b"))
	write(t, filepath.Join(f.home, "tree/a/b/leaf"), "x")
	write(t, filepath.Join(f.dir, "target"), "x")
	if err := os.Symlink(filepath.Join(f.dir, "target"), filepath.Join(f.home, "link")); err != nil {
		t.Fatal(err)
	}

	for _, p := range []string{
		"file", "tree", "link",
		// Missing paths are no error, as in E2B: its SDKs' tests remove
		// a non-existing file and expect success.
		"missing", filepath.Join(f.dir, "file/inside"),
	} {
		if _, err := f.client.Remove(ctx, connect.NewRequest(&pb.RemoveRequest{Path: p})); err != nil {
			t.Errorf("remove %s: %v", p, err)
		}
		if _, err := os.Lstat(filepath.Join(f.home, p)); !os.IsNotExist(err) {
			t.Errorf("%s still there: %v", p, err)
		}
	}
	// A symlink goes, not its target.
	if _, err := os.Stat(filepath.Join(f.dir, "target")); err != nil {
		t.Errorf("the link's target went too: %v", err)
	}
	// An empty path would be the home in E2B's envd: refused.
	_, err := f.client.Remove(ctx, connect.NewRequest(&pb.RemoveRequest{Path: ""}))
	wantCode(t, "remove an empty path", err, connect.CodeInvalidArgument)
	if _, err := os.Stat(f.home); err != nil {
		t.Errorf("home: %v", err)
	}
}
