package auth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/keyfile"
	"github.com/soulbox/soulbox/internal/store"
)

// TokenKeyFile is the file in the data dir that holds the secret access
// tokens are signed with.
const TokenKeyFile = "token.key"

// Access tokens live at most MaxTokenTTL, DefaultTokenTTL unless asked.
const (
	DefaultTokenTTL = 15 * time.Minute
	MaxTokenTTL     = 24 * time.Hour
)

const tokenIssuer = "soulbox"

// tokenAudience is the aud every access token carries and must carry: a
// JWT signed with the same secret for another purpose is not a token.
const tokenAudience = "soulbox-api"

// Tokens issues and checks short-lived access tokens: JWTs (HS256)
// standing for the API key they were made with. A token is only as good
// as its key: it is refused once the key is revoked or its team deleted,
// at the next request.
type Tokens struct {
	secret []byte
	now    func() time.Time // time.Now unless a test sets it
}

// tokenClaims are a token's claims: the key's id as subject, and the
// key's hash, by which the store finds it; or, for a member's token, the
// user's id as subject and in uid, and the team the token is for.
type tokenClaims struct {
	KeyHash string `json:"kh,omitempty"`
	Team    string `json:"team"`
	// User is the user's id in a member's token.
	User string `json:"uid,omitempty"`
	// Email is the user's, for showing: the member's role is read from
	// the store at every request.
	Email string `json:"email,omitempty"`
	jwt.RegisteredClaims
}

// NewTokens returns tokens signed with secret (at least 32 bytes).
func NewTokens(secret []byte) (*Tokens, error) {
	if len(secret) < 32 {
		return nil, fmt.Errorf("token secret: want at least 32 bytes, have %d: %w", len(secret), errdefs.ErrInvalidArgument)
	}
	return &Tokens{secret: secret}, nil
}

// Fingerprint tells the secret tokens are signed with from another's
// without revealing it (keyfile.Fingerprint).
func (t *Tokens) Fingerprint() string { return keyfile.Fingerprint(t.secret) }

// LoadTokens returns tokens signed with the secret in
// <dataDir>/token.key, made (random, 0600, durably) if missing.
func LoadTokens(dataDir string) (*Tokens, error) {
	path := filepath.Join(dataDir, TokenKeyFile)
	if err := keyfile.Make(path, "access token secret", 32); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read the access token secret: %w", err)
	}
	secret, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("%s: want hex: %w", path, errdefs.ErrInvalidArgument)
	}
	return NewTokens(secret)
}

func (t *Tokens) clock() time.Time {
	if t.now != nil {
		return t.now()
	}
	return time.Now()
}

// Issue returns a token for k valid for ttl (DefaultTokenTTL if 0), and
// when it expires.
func (t *Tokens) Issue(k store.APIKey, ttl time.Duration) (string, time.Time, error) {
	return t.sign(tokenClaims{KeyHash: k.Hash, Team: k.Team}, k.ID, ttl)
}

// IssueMember returns a token for member m valid for ttl
// (DefaultTokenTTL if 0), and when it expires. The token works while
// the user is a member of m.Team, with the role the member has at each
// request.
func (t *Tokens) IssueMember(m store.Member, ttl time.Duration) (string, time.Time, error) {
	if m.UserID == "" || m.Team == "" {
		return "", time.Time{}, fmt.Errorf("member token: user and team are required: %w", errdefs.ErrInvalidArgument)
	}
	return t.sign(tokenClaims{Team: m.Team, User: m.UserID, Email: m.Email}, m.UserID, ttl)
}

func (t *Tokens) sign(c tokenClaims, subject string, ttl time.Duration) (string, time.Time, error) {
	if ttl == 0 {
		ttl = DefaultTokenTTL
	}
	if ttl < time.Second || ttl > MaxTokenTTL {
		return "", time.Time{}, fmt.Errorf("token lifetime %v: use 1 s to %v: %w", ttl, MaxTokenTTL, errdefs.ErrInvalidArgument)
	}
	now := t.clock()
	exp := now.Add(ttl).Truncate(time.Second)
	id := make([]byte, 8)
	_, _ = rand.Read(id)
	c.RegisteredClaims = jwt.RegisteredClaims{
		Issuer: tokenIssuer, Audience: jwt.ClaimStrings{tokenAudience}, Subject: subject, ID: "tok_" + hex.EncodeToString(id),
		IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(exp),
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(t.secret)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("sign access token: %w", err)
	}
	return s, exp, nil
}

// tokenAlg reads the alg of a token's header, unverified.
func tokenAlg(s string) (string, bool) {
	head, _, _ := strings.Cut(s, ".")
	b, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		return "", false
	}
	var h struct {
		Alg string `json:"alg"`
	}
	if json.Unmarshal(b, &h) != nil {
		return "", false
	}
	return h.Alg, true
}

// LooksLikeToken reports whether s has a JWT's shape (three dot-separated
// parts), as no API key does.
func LooksLikeToken(s string) bool {
	return strings.Count(s, ".") == 2 && !strings.HasPrefix(s, "e2b_")
}

// parse checks a token's signature, algorithm, issuer and expiry and
// returns its claims, or an error in ErrUnauthenticated saying what is
// wrong with it.
func (t *Tokens) parse(s string) (tokenClaims, error) {
	var c tokenClaims
	// The algorithm is checked first and on its own, so that alg:none
	// or another algorithm is named as such in the refusal.
	if alg, ok := tokenAlg(s); ok && alg != jwt.SigningMethodHS256.Alg() {
		return c, fmt.Errorf("access token refused: algorithm %q: only HS256 tokens issued by this server are accepted: %w", alg, errdefs.ErrUnauthenticated)
	}
	_, err := jwt.ParseWithClaims(s, &c, func(*jwt.Token) (any, error) { return t.secret, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}), jwt.WithIssuer(tokenIssuer), jwt.WithAudience(tokenAudience),
		jwt.WithExpirationRequired(), jwt.WithTimeFunc(t.clock))
	switch {
	case err == nil && (c.Subject == "" || (c.KeyHash == "") == (c.User == "") || (c.User != "" && (c.User != c.Subject || c.Team == ""))):
		return c, fmt.Errorf("access token names no key and no member: %w", errdefs.ErrUnauthenticated)
	case err == nil:
		return c, nil
	case errors.Is(err, jwt.ErrTokenExpired):
		return c, fmt.Errorf("access token expired: get a new one (POST /access-tokens with the API key): %w", errdefs.ErrUnauthenticated)
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return c, fmt.Errorf("access token signature invalid: it was not issued by this server: %w", errdefs.ErrUnauthenticated)
	case errors.Is(err, jwt.ErrTokenUnverifiable), errors.Is(err, jwt.ErrSignatureInvalid):
		return c, fmt.Errorf("access token refused: only HS256 tokens issued by this server are accepted: %w", errdefs.ErrUnauthenticated)
	case errors.Is(err, jwt.ErrTokenInvalidAudience), errors.Is(err, jwt.ErrTokenRequiredClaimMissing) && strings.Contains(err.Error(), "aud"):
		return c, fmt.Errorf("access token refused: its audience (aud) is not %q: it is not meant for this API: %w", tokenAudience, errdefs.ErrUnauthenticated)
	case errors.Is(err, jwt.ErrTokenMalformed):
		return c, fmt.Errorf("malformed access token: %w", errdefs.ErrUnauthenticated)
	}
	return c, fmt.Errorf("access token refused: %v: %w", err, errdefs.ErrUnauthenticated)
}

type viaTokenCtx struct{}

// viaToken marks a context whose key was presented as an access token.
func viaToken(ctx context.Context) context.Context {
	return context.WithValue(ctx, viaTokenCtx{}, true)
}

// ViaToken reports whether the request's key came as an access token
// rather than the key itself: such a request may not mint more tokens,
// so a token cannot outlive its lifetime by renewing itself.
func ViaToken(ctx context.Context) bool { v, _ := ctx.Value(viaTokenCtx{}).(bool); return v }

// TokenID returns a token's id (its jti), unverified: for showing, never
// for trusting.
func TokenID(s string) (string, bool) {
	var c tokenClaims
	if _, _, err := jwt.NewParser().ParseUnverified(s, &c); err != nil {
		return "", false
	}
	return c.ID, c.ID != ""
}
