package store

import (
	"fmt"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// ValidateMove checks MoveSandbox's arguments.
func ValidateMove(id, from, to string, ev Event) error {
	if err := ValidateID(id); err != nil {
		return err
	}
	if to == "" || from == to {
		return fmt.Errorf("sandbox %q: move from node %q to node %q: not another joined node: %w", id, from, to, errdefs.ErrInvalidArgument)
	}
	if err := ValidateText("node", to); err != nil {
		return err
	}
	if ev.Type == "" {
		return fmt.Errorf("sandbox %q: a move needs an event: %w", id, errdefs.ErrInvalidArgument)
	}
	return nil
}
