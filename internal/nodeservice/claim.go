package nodeservice

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"connectrpc.com/connect"

	nodev1 "github.com/soulbox/soulbox/api/node/v1"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/runtime"
)

// Warm is a node's warm pool (internal/nodepool).
type Warm interface {
	runtime.Claimer
	// Holds reports whether sandbox id is the pool's, not a create's.
	Holds(id string) bool
	// ClaimedAt is when sandbox id was claimed, if that was lately
	// (nodepool.ClaimGrace); zero otherwise.
	ClaimedAt(id string) time.Time
	// ClaimedBy is the sandbox a claim with key was served lately, if
	// any.
	ClaimedBy(key string) (string, bool)
}

// WithPool serves creates from warm (Claim) and returns s. The pool's
// sandboxes are no one's: List does not show them, and the node's bound
// does not count them.
func (s *Service) WithPool(warm Warm) *Service {
	s.warm = warm
	return s
}

// Claim implements the service: an empty id when the node has no pool,
// or no sandbox of the template ready.
func (s *Service) Claim(ctx context.Context, req *connect.Request[nodev1.ClaimRequest]) (*connect.Response[nodev1.ClaimResponse], error) {
	if s.warm == nil {
		return connect.NewResponse(&nodev1.ClaimResponse{}), nil
	}
	c := runtime.Claim{Template: req.Msg.GetTemplate(), Init: req.Msg.GetInitJson(), Key: req.Msg.GetClaimKey()}
	if err := json.Unmarshal(req.Msg.GetLimitsJson(), &c.Limits); err != nil {
		return nil, errdefs.ToConnect(fmt.Errorf("the limits do not decode: %v: %w", err, errdefs.ErrInvalidArgument))
	}
	if err := json.Unmarshal(req.Msg.GetNetworkJson(), &c.Network); err != nil {
		return nil, errdefs.ToConnect(fmt.Errorf("the network policy does not decode: %v: %w", err, errdefs.ErrInvalidArgument))
	}
	// What is wrong with the request is refused before a pooled sandbox
	// is spent on it.
	if err := c.Limits.WithDefaults().Validate(); err != nil {
		return nil, errdefs.ToConnect(err)
	}
	if err := c.Network.Validate(); err != nil {
		return nil, errdefs.ToConnect(err)
	}
	// A claim asked again (its answer was lost) has its sandbox, which
	// the bound counts already.
	if id, ok := s.warm.ClaimedBy(c.Key); ok {
		return connect.NewResponse(&nodev1.ClaimResponse{Id: id}), nil
	}
	// A claimed sandbox is the node's like a created one: the bound
	// counts it from now.
	if s.max > 0 {
		s.createMu.Lock()
		defer s.createMu.Unlock()
		if err := s.admit(ctx); err != nil {
			return nil, errdefs.ToConnect(err)
		}
	}
	id, err := s.warm.Claim(ctx, c)
	if err != nil {
		return nil, errdefs.ToConnect(err)
	}
	return connect.NewResponse(&nodev1.ClaimResponse{Id: id}), nil
}

// owned is the driver's sandboxes without the warm pool's, those
// claimed lately marked so (runtime.Info.ClaimedAt).
func (s *Service) owned(ctx context.Context) ([]runtime.Info, error) {
	l, err := s.d.List(ctx)
	if err != nil || s.warm == nil {
		return l, err
	}
	out := l[:0]
	for _, i := range l {
		if !s.warm.Holds(i.ID) {
			i.ClaimedAt = s.warm.ClaimedAt(i.ID)
			out = append(out, i)
		}
	}
	return out, nil
}
