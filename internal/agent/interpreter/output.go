package interpreter

import (
	"bytes"
	"io"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// markPrefix and markSuffix frame the ordering markers a driver writes to
// its stdout and stderr before each event (see doc.go). Record and unit
// separators do not occur in ordinary text output.
var (
	markPrefix = []byte("\x1e\x1fsoulbox-mark:")
	markSuffix = []byte("\x1f\x1e")
)

// maxMarkLen bounds how long a partial marker is held back waiting for
// the rest of it; anything longer is not a marker.
const maxMarkLen = 48

// outputStream reads one of a driver's output pipes, hands its text to
// emit as it arrives, and records the highest marker seen so that events
// can wait until the output written before them has been passed on.
type outputStream struct {
	emit func(text string)
	// passed records the markers read.
	passed *progress
	// delivered is where the events stand: text after a marker waits
	// until the marker's event is out, so a print after a display()
	// never overtakes it.
	delivered *progress
}

func newOutputStream(emit func(string), delivered *progress) *outputStream {
	return &outputStream{emit: emit, passed: newProgress(), delivered: delivered}
}

// run copies r until it fails. Text is split only between UTF-8
// characters and never inside a marker.
func (s *outputStream) run(r io.Reader) {
	defer s.passed.close()
	buf := make([]byte, 0, 64<<10)
	chunk := make([]byte, 32<<10)
	for {
		n, err := r.Read(chunk)
		buf = append(buf, chunk[:n]...)
		buf = s.consume(buf, err != nil)
		if err != nil {
			return
		}
	}
}

// consume passes on what of buf is complete and returns the rest, moved
// to the front. At the end everything left is text.
func (s *outputStream) consume(buf []byte, final bool) []byte {
	rest := buf
	for len(rest) > 0 {
		i := bytes.Index(rest, markPrefix[:2])
		if i < 0 {
			break
		}
		s.text(rest[:i], true)
		rest = rest[i:]
		mark, n, ok := parseMark(rest)
		switch {
		case ok:
			s.passed.advance(mark)
			s.delivered.wait(mark, markTimeout)
			rest = rest[n:]
			continue
		case n == 0 && !final && len(rest) < maxMarkLen:
			// Possibly a marker still being written: wait for more.
			return append(buf[:0], rest...)
		}
		// Not a marker after all: the separators are ordinary text.
		s.text(rest[:2], true)
		rest = rest[2:]
	}
	if !final && len(rest) > 0 && rest[len(rest)-1] == markPrefix[0] {
		// The first byte of a marker whose second byte is on its way.
		s.text(rest[:len(rest)-1], false)
		return append(buf[:0], rest[len(rest)-1])
	}
	keep := s.text(rest, final)
	return append(buf[:0], rest[len(rest)-keep:]...)
}

// text emits b but for an incomplete UTF-8 character at its end (unless
// final), and returns how many trailing bytes it kept back.
func (s *outputStream) text(b []byte, final bool) int {
	keep := 0
	if !final {
		keep = incompleteRune(b)
	}
	if len(b) > keep {
		s.emit(string(b[:len(b)-keep]))
	}
	return keep
}

// incompleteRune is the length of a UTF-8 sequence cut short at the end
// of b, 0 if b ends on a character boundary.
func incompleteRune(b []byte) int {
	for i := 1; i <= utf8.UTFMax-1 && i <= len(b); i++ {
		c := b[len(b)-i]
		if utf8.RuneStart(c) {
			if c >= 0xC0 && !utf8.FullRune(b[len(b)-i:]) {
				return i
			}
			return 0
		}
	}
	return 0
}

// parseMark parses the marker at the start of b. n is its length when ok;
// n is 0 when b may be the start of a marker still incomplete, and -1
// when b cannot be one.
func parseMark(b []byte) (mark int64, n int, ok bool) {
	prefix := len(markPrefix)
	if len(b) < prefix {
		if bytes.HasPrefix(markPrefix, b) {
			return 0, 0, false
		}
		return 0, -1, false
	}
	if !bytes.HasPrefix(b, markPrefix) {
		return 0, -1, false
	}
	end := prefix
	for end < len(b) && b[end] >= '0' && b[end] <= '9' {
		end++
	}
	if end == len(b) || (end+1 == len(b) && b[end] == markSuffix[0]) {
		return 0, 0, false
	}
	if end == prefix || !bytes.HasPrefix(b[end:], markSuffix) {
		return 0, -1, false
	}
	mark, err := strconv.ParseInt(string(b[prefix:end]), 10, 64)
	if err != nil {
		return 0, -1, false
	}
	return mark, end + len(markSuffix), true
}

// progress is a mark that only grows, and can be waited for.
type progress struct {
	mu   sync.Mutex
	cond *sync.Cond
	mark int64
	done bool
}

func newProgress() *progress {
	p := &progress{}
	p.cond = sync.NewCond(&p.mu)
	return p
}

func (p *progress) advance(mark int64) {
	p.mu.Lock()
	if mark > p.mark {
		p.mark = mark
	}
	p.cond.Broadcast()
	p.mu.Unlock()
}

// close releases every waiter for good.
func (p *progress) close() {
	p.mu.Lock()
	p.done = true
	p.cond.Broadcast()
	p.mu.Unlock()
}

// wait blocks until mark is reached or the progress closed, or until
// timeout: a cell may have redirected the driver's own output, and then
// a marker never comes.
func (p *progress) wait(mark int64, timeout time.Duration) {
	expired := false
	timer := time.AfterFunc(timeout, func() {
		p.mu.Lock()
		expired = true
		p.cond.Broadcast()
		p.mu.Unlock()
	})
	defer timer.Stop()
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.mark < mark && !p.done && !expired {
		p.cond.Wait()
	}
}
