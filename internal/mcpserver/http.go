package mcpserver

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/soulbox/soulbox/internal/httperr"
	"github.com/soulbox/soulbox/sdk/go/soulbox"
)

// sessionHeader is the streamable HTTP transport's session header.
const sessionHeader = "Mcp-Session-Id"

// Handler serves MCP over streamable HTTP. It must sit behind the API's
// authentication: key(r) is the API key the request presented, and each
// MCP session acts with the key of the request that opened it, through a
// client newClient makes. A session answers only requests with that same
// key, so a session ID alone does not lend another key's sandboxes.
func Handler(key func(*http.Request) string, newClient func(apiKey string) (*soulbox.Client, error)) http.Handler {
	h := &handler{key: key, sessions: map[string]owner{}}
	h.mcp = mcp.NewStreamableHTTPHandler(func(r *http.Request) *mcp.Server {
		c, err := newClient(key(r))
		if err != nil {
			return nil
		}
		return New(c)
	}, &mcp.StreamableHTTPOptions{SessionTimeout: sessionIdle})
	return h
}

// sessionIdle is how long an MCP session lives without requests; its
// default sandbox lives on until its own timeout.
const sessionIdle = time.Hour

// owner is the key that opened a session, and when it was last used.
type owner struct {
	key  [32]byte // SHA-256 of the API key
	seen time.Time
}

type handler struct {
	key func(*http.Request) string
	mcp *mcp.StreamableHTTPHandler

	mu       sync.Mutex
	sessions map[string]owner // by session ID
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
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
