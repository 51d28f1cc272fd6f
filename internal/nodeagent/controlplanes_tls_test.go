package nodeagent

import (
	"context"
	"crypto/tls"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"testing"

	"connectrpc.com/connect"

	nodev1 "github.com/soulbox/soulbox/api/node/v1"
	"github.com/soulbox/soulbox/api/node/v1/nodev1connect"
	"github.com/soulbox/soulbox/internal/nodeca"
)

// joinedIdentity is the identity of a node named name signed by ca, as
// a join leaves it in dataDir.
func joinedIdentity(t *testing.T, ca *nodeca.CA, dataDir, name string) *identity {
	t.Helper()
	csr, err := newKey(dataDir, name)
	if err != nil {
		t.Fatal(err)
	}
	cert, _, err := ca.SignNode(name, csr)
	if err != nil {
		t.Fatal(err)
	}
	if err := saveIdentity(dataDir, name, "https://127.0.0.1:1", cert, nil, ca.CertPEM()); err != nil {
		t.Fatal(err)
	}
	id, err := loadIdentity(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// serveTLSFake serves f on a node listener with the TLS config tc.
func serveTLSFake(t *testing.T, f *fakeControlPlane, tc *tls.Config) string {
	t.Helper()
	path, h := nodev1connect.NewNodeServiceHandler(f)
	mux := http.NewServeMux()
	mux.Handle(path, h)
	// Served with tc as it is (its GetCertificate), not httptest's
	// StartTLS, which would put a certificate of its own in front.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux, TLSConfig: tc, ErrorLog: log.New(io.Discard, "", 0)}
	go func() { _ = srv.ServeTLS(l, "", "") }()
	t.Cleanup(func() { _ = srv.Close() })
	return "https://" + l.Addr().String()
}

// TestReplicasFailOverTLS: a replica whose certificate the node does not
// trust (another CA) or which refuses the node's certificate (a TLS
// alert) is one replica gone wrong, not the node refused: the heartbeat
// goes to the next replica, and the node stops only when every replica
// refuses it; with one refusing and another unreachable it waits on.
func TestReplicasFailOverTLS(t *testing.T) {
	mine, err := nodeca.Open(filepath.Join(t.TempDir(), "ca"))
	if err != nil {
		t.Fatal(err)
	}
	other, err := nodeca.Open(filepath.Join(t.TempDir(), "ca"))
	if err != nil {
		t.Fatal(err)
	}
	id := joinedIdentity(t, mine, t.TempDir(), "node-t")
	listener := func(ca *nodeca.CA) *tls.Config {
		tc, err := ca.ServerTLS([]string{"127.0.0.1"})
		if err != nil {
			t.Fatal(err)
		}
		return tc
	}
	good := &fakeControlPlane{}
	goodURL := serveTLSFake(t, good, listener(mine))
	unknownCA := serveTLSFake(t, &fakeControlPlane{}, listener(other))
	unknownCA2 := serveTLSFake(t, &fakeControlPlane{}, listener(other))
	alerting := listener(mine) // trusted by the node, but trusts other nodes only
	alerting.ClientCAs = other.Pool()
	alertURL := serveTLSFake(t, &fakeControlPlane{}, alerting)

	nodes := func(urls ...string) *replicas {
		return newReplicas(urls, slog.New(slog.DiscardHandler), func(u string) nodev1connect.NodeServiceClient { c, _ := mtlsClient(id, u); return c })
	}
	beat := func(r *replicas) error {
		_, err := r.Heartbeat(context.Background(), connect.NewRequest(&nodev1.HeartbeatRequest{}))
		return err
	}
	for _, first := range []string{unknownCA, alertURL} {
		if err := beat(nodes(first, goodURL)); err != nil {
			t.Errorf("first replica %s fails TLS: heartbeat = %v, want the second to answer", first, err)
		}
	}
	if good.beats.Load() != 2 {
		t.Errorf("the good replica got %d heartbeats, want 2", good.beats.Load())
	}
	// (Under TLS 1.3 the alert may reach the node as a broken HTTP/2
	// connection rather than as the alert, so the refusal by every
	// replica is checked with certificates the node does not trust.)
	if err := beat(nodes(unknownCA, unknownCA2)); !refused(err) {
		t.Errorf("every replica refuses TLS: %v, want the node refused", err)
	}
	if err := beat(nodes(unknownCA, closedURL(t))); err == nil || refused(err) {
		t.Errorf("one replica refuses TLS, the other is down: %v, want a failure to wait out", err)
	}
	if err := beat(nodes(unknownCA)); !refused(err) {
		t.Errorf("the one replica refuses TLS: %v, want the node refused", err)
	}
}
