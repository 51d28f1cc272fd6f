package mcpserver

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/soulbox/soulbox/internal/httperr"
	"github.com/soulbox/soulbox/sdk/go/soulbox"
	"github.com/soulbox/soulbox/sdk/go/soulbox/tools"
)

// sessionHeader is the streamable HTTP transport's session header.
const sessionHeader = "Mcp-Session-Id"

// Handler serves MCP over streamable HTTP. It must sit behind the API's
// authentication: key(r) is the API key the request presented, and each
// MCP session acts with the key of the request that opened it, through a
// client newClient makes. A session answers only requests with that same
// key, so a session ID alone does not lend another key's sandboxes.
//
// When a session ends, by the client's DELETE or by idling for
// sessionIdle, its default sandbox is killed, as the stdio server does at
// exit. Close waits for those kills when the server stops.
//
// newClient is also given the address of the client that opened the
// session, for the server to record its requests as coming from there.
func Handler(key func(*http.Request) string, newClient func(apiKey, remoteAddr string) (*soulbox.Client, error)) *HTTPHandler {
	h := &HTTPHandler{key: key, sessions: map[string]owner{}}
	h.mcp = mcp.NewStreamableHTTPHandler(func(r *http.Request) *mcp.Server {
		c, err := newClient(key(r), r.RemoteAddr)
		if err != nil {
			return nil
		}
		s, _ := newServer(c, h.killAtEnd)
		return s
	}, &mcp.StreamableHTTPOptions{SessionTimeout: sessionIdle})
	return h
}

// sessionIdle is how long an MCP session lives without requests.
const sessionIdle = time.Hour

// killAtEnd kills the session's default sandbox once the session ends.
// Sessions still open when the server stops keep theirs: it lives until
// its own timeout, like any sandbox across a restart.
func (h *HTTPHandler) killAtEnd(ss *mcp.ServerSession, r *tools.Runner) {
	go func() {
		_ = ss.Wait()
		h.mu.Lock()
		if h.closed {
			h.mu.Unlock()
			return
		}
		h.ending.Add(1)
		h.mu.Unlock()
		defer h.ending.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := r.Close(ctx); err != nil {
			slog.Warn("mcp: killing an ended session's default sandbox", "err", err)
		}
	}()
}

// Close stops killing the sandboxes of sessions that end from now on and
// waits, until ctx ends, for the kills already under way.
func (h *HTTPHandler) Close(ctx context.Context) error {
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	done := make(chan struct{})
	go func() { h.ending.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// owner is the key that opened a session, and when it was last used.
type owner struct {
	key  [32]byte // SHA-256 of the API key
	seen time.Time
}

// HTTPHandler serves MCP sessions over streamable HTTP.
type HTTPHandler struct {
	key func(*http.Request) string
	mcp *mcp.StreamableHTTPHandler

	mu       sync.Mutex
	sessions map[string]owner // by session ID
	closed   bool             // Close was called
	ending   sync.WaitGroup   // kills of ended sessions' sandboxes
}

func (h *HTTPHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	sum := sha256.Sum256([]byte(h.key(r)))
	if id := r.Header.Get(sessionHeader); id != "" {
		h.mu.Lock()
		o, ok := h.sessions[id]
		if ok {
			o.seen = time.Now()
			h.sessions[id] = o
		}
		h.mu.Unlock()
		if !ok {
			// Unknown here is unknown: never let a session through that
			// this handler cannot tie to a key.
			httperr.WriteBody(w, http.StatusNotFound, "unknown or expired MCP session: initialize a new one")
			return
		}
		if subtle.ConstantTimeCompare(o.key[:], sum[:]) != 1 {
			httperr.WriteBody(w, http.StatusForbidden, "this MCP session belongs to another API key")
			return
		}
		if r.Method == http.MethodDelete {
			defer func() {
				h.mu.Lock()
				delete(h.sessions, id)
				h.mu.Unlock()
			}()
		}
		h.mcp.ServeHTTP(w, r)
		return
	}
	h.mcp.ServeHTTP(&recorder{ResponseWriter: w, record: func(id string) {
		h.mu.Lock()
		defer h.mu.Unlock()
		now := time.Now()
		// Sessions the transport closed for idleness are forgotten here too.
		for sid, o := range h.sessions {
			if now.Sub(o.seen) > sessionIdle {
				delete(h.sessions, sid)
			}
		}
		h.sessions[id] = owner{key: sum, seen: now}
	}}, r)
}

// recorder notes the session ID a response opens.
type recorder struct {
	http.ResponseWriter
	record func(string)
	done   bool
}

func (rw *recorder) WriteHeader(code int) {
	if !rw.done {
		rw.done = true
		if id := rw.Header().Get(sessionHeader); id != "" {
			rw.record(id)
		}
	}
	rw.ResponseWriter.WriteHeader(code)
}

func (rw *recorder) Write(b []byte) (int, error) {
	if !rw.done {
		rw.WriteHeader(http.StatusOK)
	}
	return rw.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach Flush on the real writer.
func (rw *recorder) Unwrap() http.ResponseWriter { return rw.ResponseWriter }
