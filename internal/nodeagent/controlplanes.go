package nodeagent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"connectrpc.com/connect"

	nodev1 "github.com/soulbox/soulbox/api/node/v1"
	"github.com/soulbox/soulbox/api/node/v1/nodev1connect"
	"github.com/soulbox/soulbox/internal/errdefs"
)

// controlPlaneURLs splits and checks a --control-plane value: one https
// URL of a control plane's node listener, or several (comma-separated),
// one per control-plane replica.
func controlPlaneURLs(s string) ([]string, error) {
	var out []string
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		u, err := controlPlaneURL(part)
		if err != nil {
			return nil, err
		}
		out = append(out, u.String())
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--control-plane is empty: want the https URL of a control plane's node listener: %w", errdefs.ErrInvalidArgument)
	}
	return out, nil
}

// replicas is the node service of several control-plane replicas that
// share one store: a call goes to the replica that answered last, and
// when that one does not answer, to the next in turn. A replica whose
// TLS handshake fails (another CA, an expired certificate, an alert) may
// be one misconfigured replica, so the next is asked too; the node is
// refused for good only when every replica refuses it, or when one
// answers that it refuses the node (unauthenticated, permission denied:
// every replica's answer, as they share the store and the node CA, so it
// is not asked again elsewhere).
type replicas struct {
	urls    []string
	clients []nodev1connect.NodeServiceClient
	log     *slog.Logger

	mu      sync.Mutex
	cur     int          // the replica that answered last
	failing map[int]bool // replicas that failed since they last answered
}

var _ nodev1connect.NodeServiceClient = (*replicas)(nil)

// newReplicas is the node service of the control planes at urls, each
// reached through the client dial makes.
func newReplicas(urls []string, log *slog.Logger, dial func(url string) nodev1connect.NodeServiceClient) *replicas {
	r := &replicas{urls: urls, log: log, failing: map[int]bool{}}
	for _, u := range urls {
		r.clients = append(r.clients, dial(u))
	}
	return r
}

// noneAnswered is the error of a call no replica answered: each one's
// error, and whether every one refused the node (refused).
type noneAnswered struct {
	errs    []error
	refused bool
}

func (e *noneAnswered) Error() string {
	return "no control plane answers: " + errors.Join(e.errs...).Error()
}

func (e *noneAnswered) Unwrap() []error { return e.errs }

// each calls call on the replicas in turn, from the one that answered
// last, until one answers or refuses the node.
func each[T any](ctx context.Context, r *replicas, call func(nodev1connect.NodeServiceClient) (T, error)) (T, error) {
	r.mu.Lock()
	start := r.cur
	r.mu.Unlock()
	var errs []error
	allRefused := true
	for i := range r.clients {
		k := (start + i) % len(r.clients)
		res, err := call(r.clients[k])
		if err == nil {
			if k != start {
				r.log.Info("control plane answers", "control_plane", r.urls[k], "instead_of", r.urls[start])
			}
			r.mu.Lock()
			r.cur = k
			delete(r.failing, k)
			r.mu.Unlock()
			return res, nil
		}
		if ctx.Err() != nil || answered(err) {
			return res, err
		}
		r.mu.Lock()
		first := !r.failing[k]
		r.failing[k] = true
		r.mu.Unlock()
		if first && len(r.clients) > 1 { // once until it answers again
			r.log.Warn("control plane fails, trying the next", "control_plane", r.urls[k], "next", r.urls[(k+1)%len(r.clients)], "err", err)
		}
		allRefused = allRefused && refused(err)
		errs = append(errs, fmt.Errorf("%s: %w", r.urls[k], err))
	}
	var zero T
	if len(errs) == 1 {
		return zero, errs[0]
	}
	return zero, &noneAnswered{errs: errs, refused: allRefused}
}

// answered reports whether err is a control plane's own refusal of
// this node, one another replica of the same store would give too. Any
// other failure (unreachable, unavailable, a failed TLS handshake, an
// answer that is not the node service's, such as a 404 of a proxy or of
// a server without a node listener there) moves to the next replica.
func answered(err error) bool { return serviceRefused(err) }

// Join implements nodev1connect.NodeServiceClient.
func (r *replicas) Join(ctx context.Context, req *connect.Request[nodev1.JoinRequest]) (*connect.Response[nodev1.JoinResponse], error) {
	return each(ctx, r, func(c nodev1connect.NodeServiceClient) (*connect.Response[nodev1.JoinResponse], error) {
		return c.Join(ctx, connect.NewRequest(req.Msg))
	})
}

// Heartbeat implements nodev1connect.NodeServiceClient.
func (r *replicas) Heartbeat(ctx context.Context, req *connect.Request[nodev1.HeartbeatRequest]) (*connect.Response[nodev1.HeartbeatResponse], error) {
	return each(ctx, r, func(c nodev1connect.NodeServiceClient) (*connect.Response[nodev1.HeartbeatResponse], error) {
		return c.Heartbeat(ctx, connect.NewRequest(req.Msg))
	})
}

// Renew implements nodev1connect.NodeServiceClient.
func (r *replicas) Renew(ctx context.Context, req *connect.Request[nodev1.RenewRequest]) (*connect.Response[nodev1.RenewResponse], error) {
	return each(ctx, r, func(c nodev1connect.NodeServiceClient) (*connect.Response[nodev1.RenewResponse], error) {
		return c.Renew(ctx, connect.NewRequest(req.Msg))
	})
}
