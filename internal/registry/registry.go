// Package registry is the control plane's registry of nodes: it lets
// hosts join with a one-use token (signing their client and serving
// certificates with the node CA and pinning their key), renews those
// certificates, takes their heartbeats over mutual TLS, marks the nodes
// that stop heartbeating unhealthy, changes their status for admins,
// lists them for GET /nodes, probes the sandbox services of the joined
// nodes, and places creates with the scheduler. It serves the node
// service of api/node/v1 (connect-go) on the node listener.
package registry

import (
	"context"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"connectrpc.com/connect"

	"github.com/soulbox/soulbox/api/node/v1/nodev1connect"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/node"
	"github.com/soulbox/soulbox/internal/nodeca"
	"github.com/soulbox/soulbox/internal/store"
)

// DefaultHeartbeatTimeout is how long a node may go without a heartbeat
// before it is unhealthy, unless configured.
const DefaultHeartbeatTimeout = 15 * time.Second

// Config is what a Registry is built from.
type Config struct {
	Store store.Nodes
	CA    *nodeca.CA
	// HeartbeatTimeout: a node silent this long becomes unhealthy; nodes
	// heartbeat three times in it. 0 means DefaultHeartbeatTimeout.
	HeartbeatTimeout time.Duration
	// Embedded is the server's own node, if it has one: listed with the
	// joined ones, its status kept in the store under its ID.
	Embedded *node.Local
	Log      *slog.Logger
	// Now is the clock (time.Now if nil).
	Now func() time.Time
	// Joined, if set, is told of each join before it is answered: the
	// request, the node's name, the token's id and why it was refused
	// (nil: it joined). The server records it in the audit log and
	// counts the refusals against the client's address.
	Joined func(r *http.Request, node, tokenID string, err error)
}

// Registry is the control plane's registry of nodes.
type Registry struct {
	st       store.Nodes
	ca       *nodeca.CA
	timeout  time.Duration
	embedded *node.Local
	log      *slog.Logger
	now      func() time.Time
	joined   func(r *http.Request, node, tokenID string, err error)
	view     view
	reach    reach
}

var (
	_ nodev1connect.NodeServiceHandler = (*Registry)(nil)
	_ node.Lister                      = (*Registry)(nil)
)

// New returns the registry; with an embedded node it records that node
// (ready) unless the store already has it, whose status it keeps. A
// joined node holding the embedded node's id is ErrFailedPrecondition.
func New(ctx context.Context, cfg Config) (*Registry, error) {
	r := &Registry{st: cfg.Store, ca: cfg.CA, timeout: cfg.HeartbeatTimeout, embedded: cfg.Embedded, log: cfg.Log, now: cfg.Now, joined: cfg.Joined}
	if r.timeout <= 0 {
		r.timeout = DefaultHeartbeatTimeout
	}
	if r.now == nil {
		r.now = time.Now
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if r.embedded != nil {
		if err := r.st.EnsureNode(ctx, store.Node{ID: r.embedded.ID, Embedded: true, Status: store.NodeReady}); err != nil {
			return nil, err
		}
		// EnsureNode keeps a row of the id: it must be an embedded node's,
		// not a node that joined under the name this server's node uses.
		n, err := r.st.GetNode(ctx, r.embedded.ID)
		if err != nil {
			return nil, err
		}
		if !n.Embedded {
			return nil, fmt.Errorf("this server's own node is called %q (its host name), but a node joined under that name: "+
				"delete that node (DELETE /nodes/%s through another control-plane replica) or rename this host: %w",
				r.embedded.ID, r.embedded.ID, errdefs.ErrFailedPrecondition)
		}
	}
	return r, nil
}

// HeartbeatInterval is how often nodes are told to heartbeat: three
// times in the timeout.
func (r *Registry) HeartbeatInterval() time.Duration {
	return max(r.timeout/3, 100*time.Millisecond)
}

// EmbeddedID is the embedded node's id ("" without one).
func (r *Registry) EmbeddedID() string {
	if r.embedded == nil {
		return ""
	}
	return r.embedded.ID
}

type (
	peerKey    struct{}
	requestKey struct{}
)

// Bounds of what the node service reads of a request: a join is read
// before anything authenticates it, so it gets little; a heartbeat
// holds at most maxTemplates names.
const (
	MaxJoinBytes      = 64 << 10
	MaxHeartbeatBytes = 4 << 20
)

// Handler is the node service over HTTP, for the node listener (whose TLS
// is the CA's ServerTLS): it passes each call the client certificate the
// TLS handshake verified, if any. A join larger than MaxJoinBytes (a
// heartbeat larger than MaxHeartbeatBytes) is refused unread past its
// bound, and compressed requests are refused: none is worth inflating
// before its sender is known.
func (r *Registry) Handler() (string, http.Handler) {
	opts := func(max int) []connect.HandlerOption {
		return []connect.HandlerOption{connect.WithReadMaxBytes(max), connect.WithCompression("gzip", nil, nil)}
	}
	path, join := nodev1connect.NewNodeServiceHandler(r, opts(MaxJoinBytes)...)
	_, beat := nodev1connect.NewNodeServiceHandler(r, opts(MaxHeartbeatBytes)...)
	return path, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		ctx := context.WithValue(req.Context(), requestKey{}, req)
		if req.TLS != nil && len(req.TLS.VerifiedChains) > 0 {
			ctx = context.WithValue(ctx, peerKey{}, req.TLS.VerifiedChains[0][0])
		}
		req = req.WithContext(ctx)
		// connect refuses a message past its bound but then reads the rest
		// of the body to its end: the body itself is bounded here.
		h, max := join, MaxJoinBytes
		if req.URL.Path == nodev1connect.NodeServiceHeartbeatProcedure {
			h, max = beat, MaxHeartbeatBytes
		}
		req.Body = http.MaxBytesReader(w, req.Body, int64(max)+1)
		h.ServeHTTP(w, req)
	})
}

func peerCert(ctx context.Context) *x509.Certificate {
	c, _ := ctx.Value(peerKey{}).(*x509.Certificate)
	return c
}

// connectError is err with the Connect code of its category: the one
// mapping of errdefs categories to the node service's codes.
func connectError(err error) error { return errdefs.ToConnect(err) }
