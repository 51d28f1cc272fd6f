package remotedriver_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"sync"
	"testing"

	"github.com/soulbox/soulbox/internal/nodeca"
	"github.com/soulbox/soulbox/internal/nodeservice"
	"github.com/soulbox/soulbox/internal/remotedriver"
	"github.com/soulbox/soulbox/internal/runtime"
)

// TestUnreachableReported: a call that cannot reach the node (nothing
// listens, or the node's certificate is not for the pinned key) is
// reported to Unreachable; the node's own answers (a missing sandbox)
// and calls that reach it are not.
func TestUnreachableReported(t *testing.T) {
	ca, err := nodeca.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	const node = "node-u"
	cert := servingCert(t, ca, node)
	tc := &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{cert},
		ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: ca.Pool(), NextProtos: []string{"h2"}}
	path, handler := nodeservice.New(newHost()).Handler()
	mux := http.NewServeMux()
	mux.Handle(path, handler)
	srv := &http.Server{Handler: mux, TLSConfig: tc, HTTP2: nodeservice.HTTP2()}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(tls.NewListener(ln, tc))
	t.Cleanup(func() { srv.Close() })
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closed.Addr().String()
	closed.Close()
	client, err := ca.ControlPlaneClient()
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var reported []error
	driver := func(addr, pin string) *remotedriver.Driver {
		d, err := remotedriver.New(remotedriver.Config{Node: node, Addr: addr, ClientCert: client, CA: ca.Pool(), KeyFingerprint: pin,
			Unreachable: func(err error) { mu.Lock(); reported = append(reported, err); mu.Unlock() }})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(reported) }
	ctx := context.Background()
	good := driver(ln.Addr().String(), nodeca.SPKIFingerprint(cert.Leaf))
	if err := good.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := good.Info(ctx, "no-such-sandbox"); err == nil {
		t.Fatal("info of a missing sandbox succeeded")
	}
	if n := count(); n != 0 {
		t.Fatalf("answers of a reachable node were reported unreachable: %v", reported)
	}
	if err := driver(closedAddr, nodeca.SPKIFingerprint(cert.Leaf)).Ping(ctx); err == nil {
		t.Fatal("a call to a closed port succeeded")
	}
	if n := count(); n != 1 {
		t.Fatalf("a refused connection was reported %d times; want once", n)
	}
	// A create that did not reach the node says so, for the create to
	// go elsewhere; the node's own answer does not.
	if _, err := driver(closedAddr, nodeca.SPKIFingerprint(cert.Leaf)).Create(ctx, runtime.Spec{ID: "sb-1", Template: "base"}); !errors.Is(err, runtime.ErrNotReached) {
		t.Errorf("a create to a closed port: %v, want not reached", err)
	}
	if _, err := good.Info(ctx, "no-such-sandbox"); errors.Is(err, runtime.ErrNotReached) {
		t.Errorf("a node's answer is marked not reached: %v", err)
	}
	mu.Lock()
	reported = nil
	mu.Unlock()
	other := servingCert(t, ca, node)
	if err := driver(ln.Addr().String(), nodeca.SPKIFingerprint(other.Leaf)).Ping(ctx); err == nil {
		t.Fatal("a call under another pinned key succeeded")
	} else if !errors.Is(err, runtime.ErrNotReached) {
		t.Errorf("a handshake refused for its key: %v, want not reached", err)
	}
	if n := count(); n != 1 {
		t.Fatalf("a handshake refused for its key was reported %d times in all; want 2: %v", n, reported)
	}
	if _, err := driver(closedAddr, "").DialContext(ctx, "sb", 80); err == nil {
		t.Fatal("a dial to a closed port succeeded")
	}
	if n := count(); n != 2 {
		t.Fatalf("a dial to a closed port was reported %d times in all; want 2", n)
	}
}
