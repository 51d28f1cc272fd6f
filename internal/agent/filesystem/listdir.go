package filesystem

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"connectrpc.com/connect"

	pb "github.com/soulbox/soulbox/api/envd/filesystem"
)

// ListDir lists a directory's entries, and with depth n > 1 those of its
// subdirectories down to n levels (0 and 1 are the direct children only),
// depth first, each directory's entries sorted by name. The directory
// itself may be a symlink to one; symlinks below it are listed but never
// followed, and a directory that is its own ancestor (a bind mount of a
// parent) is not entered again, so loops end. Paths are under the path as
// requested. Entries that vanish during the walk are left out, and
// subdirectories that cannot be read are listed without their contents.
func (s *Service) ListDir(_ context.Context, req *connect.Request[pb.ListDirRequest]) (*connect.Response[pb.ListDirResponse], error) {
	u, err := s.user(req.Header())
	if err != nil {
		return nil, err
	}
	p, err := resolvePath(req.Msg.GetPath(), u)
	if err != nil {
		return nil, connectError(err)
	}
	fi, err := os.Stat(p)
	if err != nil {
		return nil, connectError(fsError(err))
	}
	if !fi.IsDir() {
		return nil, connectError(invalid("%s is not a directory", validUTF8(p)))
	}
	depth := int(req.Msg.GetDepth())
	if depth < 1 {
		depth = 1
	}
	l := lister{ids: s.names.load(), entries: []*pb.EntryInfo{}}
	if err := l.walk(p, fi, depth, nil); err != nil {
		return nil, connectError(fsError(err))
	}
	return connect.NewResponse(&pb.ListDirResponse{Entries: l.entries}), nil
}

type lister struct {
	ids     idNames
	entries []*pb.EntryInfo
}

// fileID identifies a directory on its file system.
type fileID struct{ dev, ino uint64 }

func idOf(fi fs.FileInfo) (fileID, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}, false
	}
	return fileID{dev: uint64(st.Dev), ino: st.Ino}, true
}

// walk lists dir (whose Stat is fi) and its subdirectories down to depth
// levels. ancestors are the directories above dir in this walk.
func (l *lister) walk(dir string, fi fs.FileInfo, depth int, ancestors []fileID) error {
	if id, ok := idOf(fi); ok {
		for _, a := range ancestors {
			if a == id {
				return nil
			}
		}
		ancestors = append(ancestors, id)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, d := range ents {
		p := filepath.Join(dir, d.Name())
		fi, err := os.Lstat(p)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return err
		}
		l.entries = append(l.entries, entryOf(p, fi, l.ids))
		if depth > 1 && fi.IsDir() {
			// Below the top, a directory that cannot be read (gone, or a
			// FUSE mount refusing root) is listed without its contents.
			_ = l.walk(p, fi, depth-1, ancestors)
		}
	}
	return nil
}
