package runtime

import "context"

// Claim is a create served from a node's warm pool: a ready sandbox of
// Template, fitted to the create before it is handed out.
type Claim struct {
	// Template is the name the node pools its sandboxes under.
	Template string
	// Limits are the create's; the pooled sandbox has the defaults.
	Limits Limits
	// Network is the create's egress policy; the pooled sandbox has the
	// open one, without limits.
	Network NetworkPolicy
	// Init is the body of the agent's POST /init: the create's
	// environment and tokens.
	Init []byte
	// Key, when set, makes the claim safe to ask again: a claim with
	// the key of one served lately answers the same sandbox.
	Key string
}

// Claimer is the optional ability of a node's driver to hand a create a
// sandbox of its warm pool. The id is empty when no sandbox of the
// template was ready; the caller then creates one cold.
type Claimer interface {
	Claim(ctx context.Context, c Claim) (id string, err error)
}
