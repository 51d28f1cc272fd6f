// Package logcap bounds the agent's own log. The runtime hands the agent a
// file on the host (the sandbox's agent.log) as its stdout and stderr,
// opened for appending only; a sandbox that lives for weeks would grow it
// without end. A Writer keeps the file under a size cap: when a write
// would cross it, the file is truncated and starts again with a marker and
// the most recent lines, the equivalent of one rotated file kept inside
// the same one (the agent cannot create files on the host, and cannot read
// the one it has).
package logcap

import (
	"fmt"
	"os"
	"sync"
)

// Writer writes to a file, keeping it at most max bytes long.
type Writer struct {
	mu   sync.Mutex
	f    *os.File
	max  int64
	size int64
	// recent holds the last keep bytes written, replayed after a
	// truncation so the newest lines survive it.
	recent []byte
	keep   int
	cuts   int
}

// New returns a Writer on f, which is written from its current end. max is
// the cap in bytes; keep (less than max/2) is how much of the newest output
// survives a truncation.
func New(f *os.File, max int64, keep int) *Writer {
	w := &Writer{f: f, max: max, keep: keep}
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
		w.size = st.Size()
	} else {
		// A pipe or terminal (the agent run by hand) grows nothing.
		w.max = 0
	}
	return w
}

// Write writes p, truncating the file first if p would take it past the cap.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.max > 0 && w.size+int64(len(p)) > w.max {
		w.truncate()
	}
	n, err := w.f.Write(p)
	w.size += int64(n)
	if w.max > 0 {
		w.remember(p[:n])
	}
	return n, err
}

// truncate empties the file and writes a marker and the recent output.
func (w *Writer) truncate() {
	if err := w.f.Truncate(0); err != nil {
		// Not a file we may truncate: stop counting rather than retry
		// on every write.
		w.max = 0
		return
	}
	w.cuts++
	w.size = 0
	// Start the kept tail at a line.
	tail := w.recent
	for i, c := range tail {
		if c == '\n' {
			tail = tail[i+1:]
			break
		}
	}
	marker := fmt.Sprintf("[soulbox-agent: log truncated at %d bytes (%d times); the last %d bytes follow]\n", w.max, w.cuts, len(tail))
	n, _ := w.f.Write(append([]byte(marker), tail...))
	w.size = int64(n)
}

func (w *Writer) remember(p []byte) {
	if len(p) >= w.keep {
		w.recent = append(w.recent[:0], p[len(p)-w.keep:]...)
		return
	}
	if over := len(w.recent) + len(p) - w.keep; over > 0 {
		w.recent = append(w.recent[:0], w.recent[over:]...)
	}
	w.recent = append(w.recent, p...)
}
