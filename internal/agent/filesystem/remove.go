package filesystem

import (
	"context"
	"errors"
	"os"
	"syscall"

	"connectrpc.com/connect"

	pb "github.com/soulbox/soulbox/api/envd/filesystem"
)

// Remove deletes a file, a symlink (not its target) or a whole directory
// tree. As in E2B's envd (os.RemoveAll), a missing path is no error: the
// SDKs' own tests remove a non-existing file and expect success.
func (s *Service) Remove(_ context.Context, req *connect.Request[pb.RemoveRequest]) (*connect.Response[pb.RemoveResponse], error) {
	u, err := s.user(req.Header())
	if err != nil {
		return nil, err
	}
	p, err := resolvePath(req.Msg.GetPath(), u)
	if err != nil {
		return nil, connectError(err)
	}
	// ENOTDIR: a parent is a file, so the path does not exist either.
	if err := os.RemoveAll(p); err != nil && !errors.Is(err, syscall.ENOTDIR) {
		return nil, connectError(fsError(err))
	}
	return connect.NewResponse(&pb.RemoveResponse{}), nil
}
