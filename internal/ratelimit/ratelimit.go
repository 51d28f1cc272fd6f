// Package ratelimit bounds how fast each API key, and each team across
// its keys, may call the API, with token buckets (golang.org/x/time/rate).
// Sandbox creates are counted apart from other calls: a burst of reads
// does not stop a create, nor a burst of creates the reads that follow
// them. Sandbox traffic through the proxy is not an API call and is not
// limited here.
package ratelimit

import (
	"fmt"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
)

// Class is a kind of API call with its own limits.
type Class int

// The classes.
const (
	// Calls are every API call but creates.
	Calls Class = iota
	// Creates are POST /sandboxes and POST /v2/sandboxes.
	Creates
)

func (c Class) String() string {
	if c == Creates {
		return "sandbox creates"
	}
	return "API calls"
}

// Config sets the limits, in calls a minute; 0 is no limit. A bucket
// holds a tenth of a minute's calls (at least one): that many may come
// at once, then they refill evenly.
type Config struct {
	CallsPerKey, CallsPerTeam     int
	CreatesPerKey, CreatesPerTeam int
}

// Limiter is the buckets of every key and team. The zero value limits
// nothing; it is safe for concurrent use.
type Limiter struct {
	cfg Config
	now func() time.Time // time.Now unless a test sets it

	mu      sync.Mutex
	buckets map[bucketKey]*rate.Limiter
}

type bucketKey struct {
	class Class
	team  bool // a team's bucket rather than a key's
	id    string
}

// New returns a limiter with cfg's limits.
func New(cfg Config) *Limiter { return &Limiter{cfg: cfg} }

// LimitedError is a refusal: ErrResourceExhausted, with when to retry.
type LimitedError struct {
	// RetryAfter is how long until the call would be allowed.
	RetryAfter time.Duration
	msg        string
}

func (e *LimitedError) Error() string { return e.msg }

// Unwrap makes a refusal ErrResourceExhausted (429).
func (e *LimitedError) Unwrap() error { return errdefs.ErrResourceExhausted }

// Allow takes one call of class from k's bucket and its team's, or
// neither: it returns a *LimitedError naming the limit when either is
// empty.
func (l *Limiter) Allow(class Class, k store.APIKey) error {
	if l == nil {
		return nil
	}
	perKey, perTeam := l.cfg.CallsPerKey, l.cfg.CallsPerTeam
	if class == Creates {
		perKey, perTeam = l.cfg.CreatesPerKey, l.cfg.CreatesPerTeam
	}
	now := time.Now()
	if l.now != nil {
		now = l.now()
	}
	type take struct {
		r    *rate.Reservation
		what string
		max  int
	}
	var takes []take
	for _, b := range []struct {
		n    int
		key  bucketKey
		what string
	}{
		{perKey, bucketKey{class, false, k.ID}, "API key " + k.Prefix + "…"},
		{perTeam, bucketKey{class, true, k.Team}, fmt.Sprintf("team %q", k.Team)},
	} {
		if b.n <= 0 {
			continue
		}
		takes = append(takes, take{l.bucket(b.key, b.n, now).ReserveN(now, 1), b.what, b.n})
	}
	for _, t := range takes {
		if d := t.r.DelayFrom(now); d > 0 {
			for _, u := range takes {
				u.r.CancelAt(now) // give back what was taken
			}
			secs := int(math.Ceil(d.Seconds()))
			return &LimitedError{RetryAfter: d, msg: fmt.Sprintf("rate limit: %s may make %d %s a minute: retry in %d s", t.what, t.max, class, secs)}
		}
	}
	return nil
}

// sweepAt is how many buckets the limiter holds before a new one first
// forgets the full ones: a full bucket is what a new one would be, so
// forgetting it changes no answer, and keys and teams that stopped
// calling (or were deleted) do not hold memory forever.
const sweepAt = 4096

// bucket returns the bucket of key, made with n calls a minute.
func (l *Limiter) bucket(key bucketKey, n int, now time.Time) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if !ok {
		if l.buckets == nil {
			l.buckets = map[bucketKey]*rate.Limiter{}
		}
		if len(l.buckets) >= sweepAt {
			for k, old := range l.buckets {
				if old.TokensAt(now) >= float64(old.Burst()) {
					delete(l.buckets, k)
				}
			}
		}
		b = rate.NewLimiter(rate.Limit(float64(n)/60), max(1, n/10))
		l.buckets[key] = b
	}
	return b
}
