package filesystem

import (
	"context"

	"connectrpc.com/connect"

	pb "github.com/soulbox/soulbox/api/envd/filesystem"
)

// Stat describes one file; a final symlink is described, not followed.
// A missing path is not_found, which the SDKs' exists() relies on.
func (s *Service) Stat(_ context.Context, req *connect.Request[pb.StatRequest]) (*connect.Response[pb.StatResponse], error) {
	u, err := s.user(req.Header())
	if err != nil {
		return nil, err
	}
	p, err := resolvePath(req.Msg.GetPath(), u)
	if err != nil {
		return nil, connectError(err)
	}
	e, err := entry(p, s.names.load())
	if err != nil {
		return nil, connectError(err)
	}
	return connect.NewResponse(&pb.StatResponse{Entry: e}), nil
}
