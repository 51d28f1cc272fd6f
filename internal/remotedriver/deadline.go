package remotedriver

import (
	"sync"
	"time"
)

// deadline is one direction's deadline of a conn: a channel closed once
// it passes, replaced when it moves.
type deadline struct {
	mu     sync.Mutex
	timer  *time.Timer
	passCh chan struct{}
	hooks  map[int]func()
	next   int
}

func newDeadline() *deadline { return &deadline{passCh: make(chan struct{}), hooks: map[int]func(){}} }

// set moves the deadline to t; a zero t is none.
func (d *deadline) set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.timer != nil {
		d.timer.Stop()
		d.timer = nil
	}
	select {
	case <-d.passCh: // it had passed: a new one starts
		d.passCh = make(chan struct{})
	default:
	}
	if t.IsZero() {
		return
	}
	ch := d.passCh
	d.timer = time.AfterFunc(time.Until(t), func() {
		d.mu.Lock()
		if d.passCh != ch {
			d.mu.Unlock()
			return
		}
		close(ch)
		hooks := make([]func(), 0, len(d.hooks))
		for _, f := range d.hooks {
			hooks = append(hooks, f)
		}
		d.mu.Unlock()
		for _, f := range hooks {
			f()
		}
	})
}

// wait is closed once the deadline passes.
func (d *deadline) wait() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.passCh
}

// passed reports whether the deadline has passed.
func (d *deadline) passed() bool {
	select {
	case <-d.wait():
		return true
	default:
		return false
	}
}

// onPass calls f if the deadline passes before stop is called.
func (d *deadline) onPass(f func()) (stop func()) {
	d.mu.Lock()
	defer d.mu.Unlock()
	id := d.next
	d.next++
	d.hooks[id] = f
	return func() {
		d.mu.Lock()
		delete(d.hooks, id)
		d.mu.Unlock()
	}
}
