// Package timing lets the agent tell a caller that traces how long its
// own work took, without a tracing library in every sandbox: for a
// request that carries a W3C traceparent, the agent adds a Server-Timing
// entry per step (name, duration, and its start in unix nanoseconds, the
// host's clock, which a sandbox shares), and the server's proxy turns
// each into a span under its own span of the call.
package timing

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Header is the standard header the entries go in.
const Header = "Server-Timing"

// The steps the agent reports; a caller reads no other name.
const (
	ProcessStart = "process.start"
	FilesWrite   = "files.write"
)

// MaxEntries is the most entries Parse reads: a response of the agent
// carries one, and a header written by anything else is not read past it.
const MaxEntries = 4

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

// Parse reads the entries Add wrote for the steps the agent reports
// (ProcessStart, FilesWrite) from the values of Header, at most
// MaxEntries of them; entries in another form or of another name (a
// proxy's own) are skipped, and nothing past the first MaxEntries
// items is looked at, however long the header.
func Parse(values []string) []Entry {
	var out []Entry
	items := 0
	for _, v := range values {
		for v != "" {
			if items == MaxEntries {
				return out
			}
			items++
			var item string
			item, v, _ = strings.Cut(v, ",")
			if e, ok := parseEntry(item); ok {
				out = append(out, e)
			}
		}
	}
	return out
}

// parseEntry reads one `name;dur=ms;desc="unixnano"` entry of a step
// the agent reports.
func parseEntry(item string) (Entry, bool) {
	parts := strings.Split(strings.TrimSpace(item), ";")
	if len(parts) != 3 || (parts[0] != ProcessStart && parts[0] != FilesWrite) {
		return Entry{}, false
	}
	dur, ok1 := strings.CutPrefix(parts[1], "dur=")
	desc, ok2 := strings.CutPrefix(parts[2], "desc=")
	ms, err1 := strconv.ParseFloat(dur, 64)
	ns, err2 := strconv.ParseInt(strings.Trim(desc, `"`), 10, 64)
	if !ok1 || !ok2 || err1 != nil || err2 != nil || !(ms >= 0) || ms > float64(time.Hour/time.Millisecond) {
		return Entry{}, false
	}
	start := time.Unix(0, ns)
	// dur has whole microseconds (Add writes three decimals of a
	// millisecond): rounded to them, not truncated, so that 2.094 ms
	// is not read as 2.093999 ms.
	us := time.Duration(math.Round(ms*1000)) * time.Microsecond
	return Entry{Name: parts[0], Start: start, End: start.Add(us)}, true
}
