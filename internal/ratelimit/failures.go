package ratelimit

import (
	"fmt"
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/httperr"
)

// Failures counts refused credentials per client address, before any
// key is known: an address past Max refusals in a Window is answered 429
// without its credential being checked, until the window ends. It also
// tells the audit log which refusal to record: the first of each window
// per address, the rest only as a count (Summary) once the window ends,
// so an unauthenticated client cannot grow the log faster than one entry
// per address per window. At most Size addresses are tracked; a new one
// past that evicts the one whose window started first. The zero value
// is not usable: use NewFailures. Safe for concurrent use.
type Failures struct {
	max    int
	window time.Duration
	size   int
	now    func() time.Time // time.Now unless a test sets it

	mu sync.Mutex
	m  map[string]*failWindow
}

type failWindow struct {
	start time.Time
	count int // refusals in the window, the first included
}

// Summary is the refusals from one address in a window beyond its first,
// which was recorded on its own.
type Summary struct {
	Remote     string
	Start, End time.Time
	Count      int
}

// Defaults of NewFailures' arguments, used by the server.
const (
	DefaultFailureMax    = 30
	DefaultFailureWindow = time.Minute
	DefaultFailureSize   = 4096
)

// NewFailures returns a gate that allows max refusals per address per
// window, tracking at most size addresses.
func NewFailures(max int, window time.Duration, size int) *Failures {
	return &Failures{max: max, window: window, size: size, m: map[string]*failWindow{}}
}

func (f *Failures) clock() time.Time {
	if f.now != nil {
		return f.now()
	}
	return time.Now()
}

// Address is the client address r's refusals are counted under: the
// connection's IP, never a header the client sets.
func Address(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// Gate answers 429 with Retry-After, and returns false, when r's address
// is past its refusals for this window; such a request counts as one
// more refusal.
func (f *Failures) Gate(w http.ResponseWriter, r *http.Request) bool {
	addr := Address(r)
	now := f.clock()
	f.mu.Lock()
	fw, ok := f.m[addr]
	blocked := ok && now.Sub(fw.start) < f.window && fw.count >= f.max
	var retry time.Duration
	if blocked {
		fw.count++
		retry = fw.start.Add(f.window).Sub(now)
	}
	f.mu.Unlock()
	if !blocked {
		return true
	}
	w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(retry.Seconds()))))
	httperr.Write(w, r, nil, fmt.Errorf("too many refused credentials from %s: %d in %v; retry in %d s: %w",
		addr, f.max, f.window, int(math.Ceil(retry.Seconds())), errdefs.ErrResourceExhausted))
	return false
}

// Fail counts a refused credential from r's address. It returns whether
// it is the first of its window (the one to record on its own) and the
// summaries of windows that ended, to record now.
func (f *Failures) Fail(r *http.Request) (first bool, ended []Summary) {
	addr := Address(r)
	now := f.clock()
	f.mu.Lock()
	defer f.mu.Unlock()
	for a, fw := range f.m {
		if now.Sub(fw.start) >= f.window {
			ended = f.end(ended, a, fw, fw.start.Add(f.window))
		}
	}
	fw, ok := f.m[addr]
	if ok {
		fw.count++
		return false, ended
	}
	if len(f.m) >= f.size {
		var oldest string
		for a, w := range f.m {
			if oldest == "" || w.start.Before(f.m[oldest].start) {
				oldest = a
			}
		}
		ended = f.end(ended, oldest, f.m[oldest], now)
	}
	f.m[addr] = &failWindow{start: now, count: 1}
	return true, ended
}

// end forgets a's window, adding its summary to out if it counted more
// than its first refusal.
func (f *Failures) end(out []Summary, a string, fw *failWindow, end time.Time) []Summary {
	delete(f.m, a)
	if fw.count > 1 {
		out = append(out, Summary{Remote: a, Start: fw.start, End: end, Count: fw.count - 1})
	}
	return out
}

// Flush ends every window and returns their summaries (at shutdown).
func (f *Failures) Flush() []Summary {
	now := f.clock()
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Summary
	for a, fw := range f.m {
		out = f.end(out, a, fw, now)
	}
	return out
}
