package nodebuild

import (
	"fmt"

	"github.com/soulbox/soulbox/internal/builder"
)

// A node's build log reaches the store through the control plane, which
// does not let a node (broken, or not the control plane's own) fill it:
// each line is cut at MaxLogLine bytes, and past MaxLogBytes of a build
// the lines are dropped, with one line saying so. The step each line
// names is still followed, for the step a node lost mid-build was at.
const (
	MaxLogLine  = 16 << 10
	MaxLogBytes = 16 << 20
	// maxTail bounds the failure a node reports: its last lines, as
	// many as a step's error keeps.
	maxTail = 10
)

// relay passes a node's build log lines on to log within the bounds.
type relay struct {
	log   builder.Log
	step  string // the last step a line named
	bytes int
	cut   bool
}

func (r *relay) line(level, step, message string) {
	step, message = clip(step), clip(message)
	if step != "" {
		r.step = step
	}
	if r.cut {
		return
	}
	r.bytes += len(step) + len(message)
	if r.bytes > MaxLogBytes {
		r.cut = true
		r.log("warn", step, fmt.Sprintf("the node's build log passed %d MiB: the rest of it is not kept", MaxLogBytes>>20))
		return
	}
	r.log(level, step, message)
}

// clip is s cut at MaxLogLine bytes, marked so.
func clip(s string) string {
	if len(s) <= MaxLogLine {
		return s
	}
	return builder.Printable(s[:MaxLogLine]) + " [cut]"
}

// bounded is f within the bounds of a log: its last lines and each
// line cut.
func (f *Failure) bounded() *Failure {
	g := *f
	if len(g.Tail) > maxTail {
		g.Tail = g.Tail[len(g.Tail)-maxTail:]
	}
	g.Tail = append([]string(nil), g.Tail...)
	for i, l := range g.Tail {
		g.Tail[i] = clip(l)
	}
	g.Step, g.Message = clip(g.Step), clip(g.Message)
	return &g
}
