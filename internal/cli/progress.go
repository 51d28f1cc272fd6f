package cli

import (
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// progress counts bytes through a transfer and, when stderr is a
// terminal, draws a one-line bar there; piped, it stays quiet.
type progress struct {
	name  string
	total int64
	done  int64
	out   io.Writer
	last  time.Time
}

func newProgress(name string, total int64) *progress {
	p := &progress{name: name, total: total}
	if _, err := unix.IoctlGetTermios(int(os.Stderr.Fd()), unix.TCGETS); err == nil {
		p.out = os.Stderr
	}
	return p
}

func (p *progress) Write(b []byte) (int, error) {
	p.done += int64(len(b))
	if p.out != nil && time.Since(p.last) > 100*time.Millisecond {
		p.last = time.Now()
		p.draw()
	}
	return len(b), nil
}

func (p *progress) draw() {
	const width = 30
	filled := width
	pct := 100.0
	if p.total > 0 {
		pct = 100 * float64(p.done) / float64(p.total)
		filled = int(pct / 100 * width)
	}
	bar := make([]byte, width)
	for i := range bar {
		bar[i] = ' '
		if i < filled {
			bar[i] = '#'
		}
	}
	fmt.Fprintf(p.out, "\r%-30.30s [%s] %5.1f%% %d MiB", p.name, bar, pct, p.done>>20)
}

// finish draws the bar at its end and moves to the next line.
func (p *progress) finish() {
	if p.out != nil {
		p.draw()
		fmt.Fprintln(p.out)
	}
}
