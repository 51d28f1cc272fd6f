package ratelimit

import (
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/soulbox/soulbox/internal/httperr"
	"github.com/soulbox/soulbox/internal/store"
)

// ClassOf is the class of an API request: a create, or a resume or
// connect (which may start a paused sandbox again and costs as much), is
// a create; the rest are calls.
func ClassOf(r *http.Request) Class {
	if r.Method != http.MethodPost {
		return Calls
	}
	p := strings.TrimPrefix(r.URL.Path, "/v2")
	if p == "/sandboxes" {
		return Creates
	}
	if rest, ok := strings.CutPrefix(p, "/sandboxes/"); ok {
		if id, op, ok := strings.Cut(rest, "/"); ok && id != "" && (op == "resume" || op == "connect") {
			return Creates
		}
	}
	return Calls
}

// Check takes r's call from k's buckets. It returns false after
// answering 429 with Retry-After (whole seconds, rounded up) and a
// message naming the limit.
func (l *Limiter) Check(w http.ResponseWriter, r *http.Request, k store.APIKey) bool {
	err := l.Allow(ClassOf(r), k)
	if err == nil {
		return true
	}
	var le *LimitedError
	if errors.As(err, &le) {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(le.RetryAfter.Seconds()))))
	}
	httperr.Write(w, r, nil, err)
	return false
}
