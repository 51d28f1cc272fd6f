package nodeagent

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"connectrpc.com/connect"

	nodev1 "github.com/soulbox/soulbox/api/node/v1"
	"github.com/soulbox/soulbox/api/node/v1/nodev1connect"
	"github.com/soulbox/soulbox/internal/errdefs"
)

// fakeControlPlane answers heartbeats with status, or refuses them.
type fakeControlPlane struct {
	nodev1connect.UnimplementedNodeServiceHandler
	beats  atomic.Int32
	refuse bool
}

func (f *fakeControlPlane) Heartbeat(context.Context, *connect.Request[nodev1.HeartbeatRequest]) (*connect.Response[nodev1.HeartbeatResponse], error) {
	f.beats.Add(1)
	if f.refuse {
		return nil, connect.NewError(connect.CodePermissionDenied, errors.New("node deleted"))
	}
	return connect.NewResponse(&nodev1.HeartbeatResponse{Status: "ready"}), nil
}

func serveFake(t *testing.T, f *fakeControlPlane) *httptest.Server {
	path, h := nodev1connect.NewNodeServiceHandler(f)
	mux := http.NewServeMux()
	mux.Handle(path, h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// closedURL is a URL nothing listens on.
func closedURL(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

func plainReplicas(urls ...string) *replicas {
	return newReplicas(urls, slog.New(slog.DiscardHandler), func(u string) nodev1connect.NodeServiceClient {
		return nodev1connect.NewNodeServiceClient(http.DefaultClient, u)
	})
}

// TestReplicasFailOver: a heartbeat goes to the next control plane when
// one does not answer, and stays with the one that answered; a refusal
// is every replica's answer and is not asked elsewhere; with none
// answering, the error names each.
func TestReplicasFailOver(t *testing.T) {
	ctx := context.Background()
	beat := func(r *replicas) error {
		_, err := r.Heartbeat(ctx, connect.NewRequest(&nodev1.HeartbeatRequest{}))
		return err
	}
	down := closedURL(t)
	up := &fakeControlPlane{}
	r := plainReplicas(down, serveFake(t, up).URL)
	for i := 0; i < 3; i++ {
		if err := beat(r); err != nil {
			t.Fatalf("heartbeat %d with the first control plane down: %v", i, err)
		}
	}
	if r.cur != 1 || up.beats.Load() != 3 {
		t.Errorf("after the failover the node beats at %d, the second got %d of 3", r.cur, up.beats.Load())
	}

	first, second := &fakeControlPlane{refuse: true}, &fakeControlPlane{}
	r = plainReplicas(serveFake(t, first).URL, serveFake(t, second).URL)
	if err := beat(r); !refused(err) {
		t.Errorf("refused heartbeat = %v, want the refusal", err)
	}
	if second.beats.Load() != 0 {
		t.Error("a refusal was asked again of another replica")
	}

	other := closedURL(t)
	err := beat(plainReplicas(down, other))
	if err == nil || !strings.Contains(err.Error(), "no control plane answers") ||
		!strings.Contains(err.Error(), strings.TrimPrefix(down, "http://")) || !strings.Contains(err.Error(), strings.TrimPrefix(other, "http://")) {
		t.Errorf("with none answering: %v, want an error naming both", err)
	}
}

// TestControlPlaneURLs: one URL or several, comma-separated; a bad one
// among them, or none, is refused saying what is wanted.
func TestControlPlaneURLs(t *testing.T) {
	got, err := controlPlaneURLs("https://a:3443, https://b:3443/")
	if err != nil || len(got) != 2 || got[0] != "https://a:3443" || got[1] != "https://b:3443" {
		t.Errorf("two URLs: %v, %v", got, err)
	}
	for _, bad := range []string{"", " , ", "https://a:3443,http://b:3443", "https://a:3443,b:3443"} {
		if _, err := controlPlaneURLs(bad); !errors.Is(err, errdefs.ErrInvalidArgument) || !strings.Contains(err.Error(), "--control-plane") {
			t.Errorf("%q: %v, want invalid argument naming --control-plane", bad, err)
		}
	}
}

// TestReplicasFailOverNotFound: a replica answering what is not the node
// service's answer (a 404, as a proxy or a server without the node
// service there gives) does not stall the node: the heartbeat goes to
// the next replica, which then keeps it.
func TestReplicasFailOverNotFound(t *testing.T) {
	notFound := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(notFound.Close)
	up := &fakeControlPlane{}
	var logged strings.Builder
	r := newReplicas([]string{notFound.URL, serveFake(t, up).URL}, slog.New(slog.NewTextHandler(&logged, nil)), func(u string) nodev1connect.NodeServiceClient {
		return nodev1connect.NewNodeServiceClient(http.DefaultClient, u)
	})
	for i := 0; i < 2; i++ {
		if _, err := r.Heartbeat(context.Background(), connect.NewRequest(&nodev1.HeartbeatRequest{})); err != nil {
			t.Fatalf("heartbeat %d with the first replica answering 404: %v", i, err)
		}
	}
	if r.cur != 1 || up.beats.Load() != 2 {
		t.Errorf("after a 404 the node beats at %d, the second got %d of 2", r.cur, up.beats.Load())
	}
	if !strings.Contains(logged.String(), "control plane fails, trying the next") || !strings.Contains(logged.String(), notFound.URL) {
		t.Errorf("the failover is not logged naming the replica:\n%s", logged.String())
	}

	// With every replica down, each failure is logged once until the
	// replica answers again, not at every heartbeat.
	logged.Reset()
	r = newReplicas([]string{closedURL(t), closedURL(t)}, slog.New(slog.NewTextHandler(&logged, nil)), func(u string) nodev1connect.NodeServiceClient {
		return nodev1connect.NewNodeServiceClient(http.DefaultClient, u)
	})
	for i := 0; i < 3; i++ {
		if _, err := r.Heartbeat(context.Background(), connect.NewRequest(&nodev1.HeartbeatRequest{})); err == nil {
			t.Fatal("a heartbeat answered with every replica down")
		}
	}
	if n := strings.Count(logged.String(), "control plane fails"); n != 2 {
		t.Errorf("%d failover lines for 3 heartbeats to 2 replicas down, want 2:\n%s", n, logged.String())
	}
}
