package noderoute

import (
	"context"

	"github.com/soulbox/soulbox/internal/runtime"
)

// ClaimOn asks joined node for a sandbox of its warm pool fitted to c
// ("" when it has none ready, or serves no pool). The claimed sandbox's
// node is remembered at once: until the create records it, the store
// does not know it, and a failed create destroys it through the router.
func (r *Router) ClaimOn(ctx context.Context, node string, c runtime.Claim) (string, error) {
	d, err := r.remoteOf(ctx, node)
	if err != nil {
		return "", err
	}
	cl, ok := d.(runtime.Claimer)
	if !ok {
		return "", nil
	}
	id, err := cl.Claim(ctx, c)
	if err != nil || id == "" {
		return "", err
	}
	r.nodes.Store(id, node)
	return id, nil
}
