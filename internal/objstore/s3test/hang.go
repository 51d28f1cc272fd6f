package s3test

import (
	"io"
	"net"
	"sync"
	"testing"

	"github.com/soulbox/soulbox/internal/objstore"
)

// Hanger stands in front of a Server, passing every connection through
// until Hang is called; from then on it accepts connections and never
// answers them: an object storage that has hung, which a client notices
// only by its own deadlines (one that is down refuses at once).
type Hanger struct {
	// Endpoint is its URL.
	Endpoint string

	srv   *Server
	mu    sync.Mutex
	hung  bool
	conns map[net.Conn]bool // open connections, both sides
}

// StartHanger starts a Hanger in front of s for t, closed when t ends.
func StartHanger(t testing.TB, s *Server) *Hanger {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &Hanger{Endpoint: "http://" + l.Addr().String(), srv: s, conns: map[net.Conn]bool{}}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		l.Close()
		h.mu.Lock()
		for c := range h.conns {
			c.Close()
		}
		h.mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			h.mu.Lock()
			h.conns[c] = true
			hung := h.hung
			h.mu.Unlock()
			if hung {
				continue // held open, never read nor answered
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				h.pass(c)
			}()
		}
	}()
	return h
}

// pass forwards c to the server until either side closes.
func (h *Hanger) pass(c net.Conn) {
	up, err := net.Dial("tcp", h.srv.Endpoint[len("http://"):])
	if err != nil {
		c.Close()
		return
	}
	h.mu.Lock()
	h.conns[up] = true
	h.mu.Unlock()
	done := make(chan struct{}, 2)
	go func() { io.Copy(up, c); done <- struct{}{} }()
	go func() { io.Copy(c, up); done <- struct{}{} }()
	<-done
	c.Close()
	up.Close()
	<-done
}

// Hang makes the Hanger hang: the connections passed through so far are
// closed (a client's idle ones with them), and every new one is held
// without an answer.
func (h *Hanger) Hang() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.hung = true
	for c := range h.conns {
		c.Close()
		delete(h.conns, c)
	}
}

// Pass makes the Hanger pass new connections through again (an object
// storage back from a hang); those it held stay unanswered.
func (h *Hanger) Pass() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.hung = false
}

// Config is the object storage configuration for bucket through h.
func (h *Hanger) Config(bucket string) objstore.Config {
	c := h.srv.Config(bucket)
	c.Endpoint = h.Endpoint
	return c
}
