package nodeservice

import (
	"context"
	"fmt"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// WithMaxSandboxes bounds the sandboxes the node runs at once (the
// node's --max-sandboxes; 0: no bound of its own) and returns s. The
// node is the authority on its bound: the control plane places from
// what it last heard and may send a create the node has no room for.
func (s *Service) WithMaxSandboxes(name string, max int) *Service {
	s.node, s.max = name, max
	return s
}

// admit refuses a create past the node's bound, with
// ErrResourceExhausted naming the node and its bound. Called with
// s.createMu held, so that creates that come together are counted one
// after the other.
func (s *Service) admit(ctx context.Context) error {
	if s.max <= 0 {
		return nil
	}
	l, err := s.owned(ctx)
	if err != nil {
		return err
	}
	if len(l) >= s.max {
		return fmt.Errorf("node %s runs %d sandboxes, its bound (--max-sandboxes %d): %w", s.node, len(l), s.max, errdefs.ErrResourceExhausted)
	}
	return nil
}
