// Package timing lets the agent tell a caller that traces how long its
// own work took, without a tracing library in every sandbox: for a
// request that carries a W3C traceparent, the agent adds a Server-Timing
// entry per step (name, duration, and its start in unix nanoseconds, the
// host's clock, which a sandbox shares), and the server's proxy turns
// each into a span under its own span of the call.
package timing

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Header is the standard header the entries go in.
const Header = "Server-Timing"

// Traced reports whether the request carries a trace to report to.
func Traced(h http.Header) bool { return h.Get("traceparent") != "" }

// Add adds the step name, from start to end, to h.
func Add(h http.Header, name string, start, end time.Time) {
	h.Add(Header, fmt.Sprintf(`%s;dur=%.3f;desc="%d"`, name, float64(end.Sub(start).Microseconds())/1000, start.UnixNano()))
}

// Entry is one step an Add reported.
type Entry struct {
	Name       string
	Start, End time.Time
}

// Parse reads the entries Add wrote from the values of Header; entries
// in another form (a proxy's own) are skipped.
func Parse(values []string) []Entry {
	var out []Entry
	for _, v := range values {
		for _, item := range strings.Split(v, ",") {
			parts := strings.Split(strings.TrimSpace(item), ";")
			if len(parts) != 3 || parts[0] == "" {
				continue
			}
			dur, ok1 := strings.CutPrefix(parts[1], "dur=")
			desc, ok2 := strings.CutPrefix(parts[2], "desc=")
			ms, err1 := strconv.ParseFloat(dur, 64)
			ns, err2 := strconv.ParseInt(strings.Trim(desc, `"`), 10, 64)
			if !ok1 || !ok2 || err1 != nil || err2 != nil || ms < 0 {
				continue
			}
			start := time.Unix(0, ns)
			out = append(out, Entry{Name: parts[0], Start: start, End: start.Add(time.Duration(ms * float64(time.Millisecond)))})
		}
	}
	return out
}
