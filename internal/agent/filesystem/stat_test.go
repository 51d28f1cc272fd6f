package filesystem

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"connectrpc.com/connect"

	pb "github.com/soulbox/soulbox/api/envd/filesystem"
)

func TestStat(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	file := filepath.Join(f.home, "notes.txt")
	write(t, file, "hello")
	if err := os.Chmod(file, 0o640); err != nil {
		t.Fatal(err)
	}
	mtime := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	if err := os.Chtimes(file, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(f.home, "sub")
	mkdir(t, dir)

	// Relative, ~ and absolute paths name the same file.
	for _, p := range []string{"notes.txt", "~/notes.txt", file, "sub/../notes.txt"} {
		res, err := f.client.Stat(ctx, connect.NewRequest(&pb.StatRequest{Path: p}))
		if err != nil {
			t.Fatalf("stat %q: %v", p, err)
		}
		e := res.Msg.GetEntry()
		if e.GetName() != "notes.txt" || e.GetPath() != file || e.GetType() != pb.FileType_FILE_TYPE_FILE ||
			e.GetSize() != 5 || e.GetMode() != 0o640 || e.GetPermissions() != "-rw-r-----" ||
			!e.GetModifiedTime().AsTime().Equal(mtime) || e.SymlinkTarget != nil {
			t.Errorf("stat %q: %v", p, e)
		}
	}

	res, err := f.json.Stat(ctx, connect.NewRequest(&pb.StatRequest{Path: "sub"}))
	if err != nil {
		t.Fatal(err)
	}
	if e := res.Msg.GetEntry(); e.GetType() != pb.FileType_FILE_TYPE_DIRECTORY || e.GetPath() != dir || e.GetPermissions() != "drwxr-xr-x" || e.GetMode() != 0o755 {
		t.Errorf("stat dir: %v", e)
	}

	for _, tc := range []struct {
		path string
		want connect.Code
	}{
		{"missing.txt", connect.CodeNotFound},
		{"/no/such/dir/file", connect.CodeNotFound},
		{"notes.txt/inside", connect.CodeNotFound}, // a parent is a file
		{"", connect.CodeInvalidArgument},
		{"~root/x", connect.CodeInvalidArgument},
	} {
		_, err := f.client.Stat(ctx, connect.NewRequest(&pb.StatRequest{Path: tc.path}))
		wantCode(t, "stat "+tc.path, err, tc.want)
	}
}
