package registry

import (
	"context"
	"fmt"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/nodetoken"
	"github.com/soulbox/soulbox/internal/store"
)

// Bounds of a join token's lifetime.
const (
	DefaultTokenTTL = time.Hour
	MaxTokenTTL     = 7 * 24 * time.Hour
)

// CreateToken makes a one-use join token valid for ttl (0: the default)
// and returns it, shown this once, with what the store keeps of it.
func (r *Registry) CreateToken(ctx context.Context, ttl time.Duration) (string, store.NodeToken, error) {
	if ttl == 0 {
		ttl = DefaultTokenTTL
	}
	if ttl < time.Minute || ttl > MaxTokenTTL {
		return "", store.NodeToken{}, fmt.Errorf("token lifetime %s: want 1m to %s: %w", ttl, MaxTokenTTL, errdefs.ErrInvalidArgument)
	}
	tk := nodetoken.New(r.ca.Fingerprint())
	now := r.now().UTC()
	rec := store.NodeToken{ID: tk.ID, Hash: tk.Hash(), CreatedAt: now, ExpiresAt: now.Add(ttl)}
	if err := r.st.CreateNodeToken(ctx, rec); err != nil {
		return "", store.NodeToken{}, err
	}
	return tk.String(), rec, nil
}

// ListTokens lists the join tokens, without their secrets.
func (r *Registry) ListTokens(ctx context.Context) ([]store.NodeToken, error) {
	return r.st.ListNodeTokens(ctx)
}

// RevokeToken revokes an unused join token.
func (r *Registry) RevokeToken(ctx context.Context, id string) error {
	return r.st.RevokeNodeToken(ctx, id, r.now())
}

// CAFingerprint is the node CA's fingerprint, which every token carries.
func (r *Registry) CAFingerprint() string { return r.ca.Fingerprint() }
