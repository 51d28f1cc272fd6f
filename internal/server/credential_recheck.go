package server

import (
	"context"
	"errors"
	"net/http"

	"github.com/soulbox/soulbox/internal/auth"
	"github.com/soulbox/soulbox/internal/errdefs"
)

// recheckCredential authenticates r's credential again: nil while the
// key works, an error once it was revoked, its team deleted or its
// access token expired. The store's own failure is not the client's:
// it does not end a stream. Open event streams ask it every few seconds.
func (s *Server) recheckCredential(ctx context.Context, r *http.Request) error {
	_, err := s.authn.Authenticate(ctx, auth.KeyFromRequest(r))
	if errors.Is(err, errdefs.ErrUnauthenticated) {
		return err
	}
	return nil
}
