package template

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"
)

// syncWriter serialises writes to the store's Progress writer, which builds
// of different templates share.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}

// tailLines is how many of the last output lines a lineWriter keeps for
// error messages; with Progress discarded they are all that is left.
const tailLines = 5

// maxLine bounds the buffer for output that never ends a line.
const maxLine = 64 << 10

// lineWriter copies command output to out one whole line at a time, each
// prefixed, so that concurrent commands do not interleave mid-line.
type lineWriter struct {
	out    io.Writer
	prefix string

	mu   sync.Mutex
	buf  []byte
	tail []string
}

func newLineWriter(out io.Writer, prefix string) *lineWriter {
	return &lineWriter{out: out, prefix: prefix}
}

// Write never fails: losing progress output must not fail a build.
func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		// apt and curl redraw progress with \r; treat it as a line end.
		i := bytes.IndexAny(w.buf, "\r\n")
		if i < 0 {
			break
		}
		w.emit(string(w.buf[:i]))
		w.buf = w.buf[i+1:]
	}
	if len(w.buf) > maxLine {
		w.emit(string(w.buf))
		w.buf = nil
	}
	return len(p), nil
}

// Printf writes a line of the build's own.
func (w *lineWriter) Printf(format string, args ...any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.emit(fmt.Sprintf(format, args...))
}

// Flush writes out a last line that had no newline.
func (w *lineWriter) Flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		w.emit(string(w.buf))
		w.buf = nil
	}
}

// Tail returns the last lines written, joined by " | ", and forgets them so
// that the next command's error shows only its own output.
func (w *lineWriter) Tail() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := strings.Join(w.tail, " | ")
	w.tail = nil
	return s
}

func (w *lineWriter) emit(line string) {
	line = strings.TrimRight(line, " \t")
	if line == "" {
		return
	}
	fmt.Fprintf(w.out, "%s%s\n", w.prefix, line)
	w.tail = append(w.tail, line)
	if len(w.tail) > tailLines {
		w.tail = w.tail[len(w.tail)-tailLines:]
	}
}
