package filesystem

import (
	"context"
	"os"
	"path/filepath"

	"connectrpc.com/connect"

	pb "github.com/soulbox/soulbox/api/envd/filesystem"
)

// Move renames source to destination (rename(2): an existing destination
// file is replaced), creating the destination's missing parents owned by
// the requesting user, and describes the result. A missing source is
// not_found. Source and destination on different file systems are
// failed_precondition: the move is not done by copying.
func (s *Service) Move(_ context.Context, req *connect.Request[pb.MoveRequest]) (*connect.Response[pb.MoveResponse], error) {
	u, err := s.user(req.Header())
	if err != nil {
		return nil, err
	}
	src, err := resolvePath(req.Msg.GetSource(), u)
	if err != nil {
		return nil, connectError(err)
	}
	dst, err := resolvePath(req.Msg.GetDestination(), u)
	if err != nil {
		return nil, connectError(err)
	}
	// Checked first so that a failing move creates no directories.
	if _, err := os.Lstat(src); err != nil {
		return nil, connectError(fsError(err))
	}
	if err := ensureDirs(filepath.Dir(dst), u.UID, u.GID); err != nil {
		return nil, connectError(err)
	}
	if err := os.Rename(src, dst); err != nil {
		return nil, connectError(fsError(err))
	}
	e, err := entry(dst, s.names.load())
	if err != nil {
		return nil, connectError(err)
	}
	return connect.NewResponse(&pb.MoveResponse{Entry: e}), nil
}
