package filesystem

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"connectrpc.com/connect"

	pb "github.com/soulbox/soulbox/api/envd/filesystem"
	"github.com/soulbox/soulbox/internal/errdefs"
)

// MakeDir creates a directory and its missing parents, like mkdir -p,
// owned by the requesting user. As in E2B's envd, an existing directory
// is already_exists (the SDKs' makeDir then returns false) and an
// existing file at the path is invalid_argument; so is a file in place
// of one of the parents.
func (s *Service) MakeDir(_ context.Context, req *connect.Request[pb.MakeDirRequest]) (*connect.Response[pb.MakeDirResponse], error) {
	u, err := s.user(req.Header())
	if err != nil {
		return nil, err
	}
	p, err := resolvePath(req.Msg.GetPath(), u)
	if err != nil {
		return nil, connectError(err)
	}
	switch fi, err := os.Stat(p); {
	case err == nil && fi.IsDir():
		return nil, connectError(fmt.Errorf("directory %s already exists: %w", validUTF8(p), errdefs.ErrAlreadyExists))
	case err == nil:
		return nil, connectError(invalid("%s already exists and is not a directory", validUTF8(p)))
	}
	if err := ensureDirs(p, u.UID, u.GID); err != nil {
		return nil, connectError(err)
	}
	e, err := entry(p, s.names.load())
	if err != nil {
		return nil, connectError(err)
	}
	return connect.NewResponse(&pb.MakeDirResponse{Entry: e}), nil
}

// ensureDirs creates dir and its missing parents (mode 0755 less the
// umask) and gives each directory it creates, and only those, to
// uid:gid. Symlinks to directories count as directories.
func ensureDirs(dir string, uid, gid uint32) error {
	var missing []string
	for d := dir; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err == nil {
			if !fi.IsDir() {
				return invalid("cannot create %s: %s is not a directory", validUTF8(dir), validUTF8(d))
			}
			break
		}
		// ENOTDIR: a parent further up is a file; the loop reaches it.
		if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
			return fsError(err)
		}
		missing = append(missing, d)
		if d == filepath.Dir(d) {
			break
		}
	}
	for i := len(missing) - 1; i >= 0; i-- {
		d := missing[i]
		if err := os.Mkdir(d, 0o755); err != nil {
			// Made by someone else meanwhile: theirs, not chowned.
			if fi, serr := os.Stat(d); errors.Is(err, fs.ErrExist) && serr == nil && fi.IsDir() {
				continue
			}
			return fsError(err)
		}
		if err := os.Lchown(d, int(uid), int(gid)); err != nil {
			return fsError(err)
		}
	}
	return nil
}
