package nodeservice

import (
	"fmt"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// dumpBegins marks sandbox id as being checkpointed by this node until
// done is called: its Checkpoint call may have lost its caller (the
// connection cut), yet the dump goes on, the sandbox frozen meanwhile.
func (s *Service) dumpBegins(id string) (done func()) {
	s.dumpMu.Lock()
	s.dumping[id]++
	s.dumpMu.Unlock()
	return func() {
		s.dumpMu.Lock()
		if s.dumping[id]--; s.dumping[id] <= 0 {
			delete(s.dumping, id)
		}
		s.dumpMu.Unlock()
	}
}

// stillDumping is the unavailable error for a question about sandbox
// id's checkpoint while one is under way, nil otherwise: what the node
// holds is not settled until the dump has ended.
func (s *Service) stillDumping(id string) error {
	s.dumpMu.Lock()
	n := s.dumping[id]
	s.dumpMu.Unlock()
	if n == 0 {
		return nil
	}
	return fmt.Errorf("node %s is still checkpointing sandbox %q; try again once it has finished: %w", s.node, id, errdefs.ErrUnavailable)
}
