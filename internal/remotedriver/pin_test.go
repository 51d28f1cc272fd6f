package remotedriver_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/nodeca"
	"github.com/soulbox/soulbox/internal/nodeservice"
	"github.com/soulbox/soulbox/internal/remotedriver"
)

// TestServingKeyPinned: the CA signs a serving certificate for the same
// node name twice, with two keys (a node deleted and joined again, the
// first host keeping its certificate). A driver pinned to the key of the
// current join refuses a service that presents the earlier certificate,
// at the handshake, saying so; it accepts the current one. Without the
// pin both would pass the CA and name checks.
func TestServingKeyPinned(t *testing.T) {
	ca, err := nodeca.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	const node = "node-pin"
	earlier, current := servingCert(t, ca, node), servingCert(t, ca, node)
	serve := func(cert tls.Certificate) string {
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
		return ln.Addr().String()
	}
	client, err := ca.ControlPlaneClient()
	if err != nil {
		t.Fatal(err)
	}
	driver := func(addr, pin string) *remotedriver.Driver {
		d, err := remotedriver.New(remotedriver.Config{Node: node, Addr: addr, ClientCert: client, CA: ca.Pool(), KeyFingerprint: pin})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	ctx := context.Background()
	pin := nodeca.SPKIFingerprint(current.Leaf)
	oldAddr, curAddr := serve(earlier), serve(current)

	if err := driver(curAddr, pin).Ping(ctx); err != nil {
		t.Fatalf("a service with the joined key = %v; want it answered", err)
	}
	d := driver(oldAddr, pin)
	err = d.Ping(ctx)
	if !errors.Is(err, errdefs.ErrUnavailable) || !strings.Contains(err.Error(), "not the key") || !strings.Contains(err.Error(), node) {
		t.Fatalf("a service with the earlier join's certificate = %v; want unavailable saying the key is not the joined one", err)
	}
	if _, err := d.List(ctx); err == nil {
		t.Fatalf("a call to the service with the earlier certificate succeeded")
	}
	// What the pin adds: the CA and the name alone let it through.
	if err := driver(oldAddr, "").Ping(ctx); err != nil {
		t.Fatalf("unpinned driver to the earlier certificate = %v; the CA and name checks pass it", err)
	}
}
