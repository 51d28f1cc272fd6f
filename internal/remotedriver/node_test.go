package remotedriver_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/nodeca"
	"github.com/soulbox/soulbox/internal/nodeservice"
	"github.com/soulbox/soulbox/internal/remotedriver"
	"github.com/soulbox/soulbox/internal/runtime"
)

// hostDriver is the node's runtime in these tests: its sandboxes are
// servers on loopback listeners, reached by Dial as a runtime reaches a
// sandbox's port, and its processes write what the test says. The
// transport between the control plane and the node is the real one.
type hostDriver struct {
	mu      sync.Mutex
	addrs   map[string]string // sandbox id: its server's address
	execOut func(req runtime.ExecRequest) int
	execErr error
	name    string
}

func (h *hostDriver) Name() string { return h.name }
func (h *hostDriver) Create(_ context.Context, s runtime.Spec) (runtime.Info, error) {
	return runtime.Info{ID: s.ID, Runtime: h.name, Status: runtime.StatusCreated}, nil
}
func (h *hostDriver) Start(context.Context, string) error  { return nil }
func (h *hostDriver) Pause(context.Context, string) error  { return nil }
func (h *hostDriver) Resume(context.Context, string) error { return nil }
func (h *hostDriver) Stop(context.Context, string) error   { return nil }
func (h *hostDriver) Destroy(_ context.Context, id string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.addrs[id]; !ok {
		return fmt.Errorf("sandbox %q: %w", id, errdefs.ErrNotFound)
	}
	delete(h.addrs, id)
	return nil
}
func (h *hostDriver) Stats(context.Context, string) (runtime.Stats, error) {
	return runtime.Stats{}, nil
}
func (h *hostDriver) Info(_ context.Context, id string) (runtime.Info, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.addrs[id]; !ok {
		return runtime.Info{}, fmt.Errorf("sandbox %q: %w", id, errdefs.ErrNotFound)
	}
	return runtime.Info{ID: id, Runtime: h.name, Status: runtime.StatusRunning}, nil
}
func (h *hostDriver) List(context.Context) ([]runtime.Info, error) { return nil, nil }
func (h *hostDriver) Exec(_ context.Context, _ string, req runtime.ExecRequest) (runtime.ExecResult, error) {
	if h.execErr != nil {
		return runtime.ExecResult{}, h.execErr
	}
	return runtime.ExecResult{ExitCode: h.execOut(req)}, nil
}
func (h *hostDriver) DialContext(ctx context.Context, id string, port int) (net.Conn, error) {
	h.mu.Lock()
	addr, ok := h.addrs[id]
	h.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("sandbox %q: %w", id, errdefs.ErrNotFound)
	}
	var d net.Dialer
	return d.DialContext(ctx, "tcp", addr)
}

// sandboxServer serves each connection with serve on a loopback port
// and is sandbox id of h.
func (h *hostDriver) sandboxServer(t *testing.T, id string, serve func(net.Conn)) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go serve(c)
		}
	}()
	h.mu.Lock()
	h.addrs[id] = ln.Addr().String()
	h.mu.Unlock()
}

// servingCert is a serving certificate the CA signs for node, with a
// key of its own.
func servingCert(t *testing.T, ca *nodeca.CA, node string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: node}}, key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, err := ca.SignServing(node, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csr}))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode(certPEM)
	leaf, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{b.Bytes}, PrivateKey: key, Leaf: leaf}
}

// startNode serves h as a node's sandbox service does (its TLS and
// HTTP/2 settings) and returns the control plane's driver of it.
func startNode(t *testing.T, h *hostDriver) *remotedriver.Driver {
	t.Helper()
	return startNodeWrapped(t, h, nil)
}

// startNodeWrapped is startNode with the node's handler wrapped by wrap
// (nil: none).
func startNodeWrapped(t *testing.T, h *hostDriver, wrap func(http.Handler) http.Handler) *remotedriver.Driver {
	t.Helper()
	ca, err := nodeca.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	const node = "node-t1"
	tc := &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{servingCert(t, ca, node)},
		ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: ca.Pool(), NextProtos: []string{"h2"}}
	path, handler := nodeservice.New(h).Handler()
	mux := http.NewServeMux()
	if wrap != nil {
		handler = wrap(handler)
	}
	mux.Handle(path, handler)
	srv := &http.Server{Handler: mux, TLSConfig: tc, HTTP2: nodeservice.HTTP2()}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(tls.NewListener(ln, tc))
	t.Cleanup(func() { srv.Close() })
	client, err := ca.ControlPlaneClient()
	if err != nil {
		t.Fatal(err)
	}
	d, err := remotedriver.New(remotedriver.Config{Node: node, Addr: ln.Addr().String(), ClientCert: client, CA: ca.Pool()})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func newHost() *hostDriver {
	return &hostDriver{addrs: map[string]string{}, name: "test/host"}
}

// within fails the test if f has not returned in a while: what it
// checks would otherwise hang the test.
func within(t *testing.T, what string, f func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-time.After(20 * time.Second):
		t.Fatalf("%s: no answer", what)
		return nil
	}
}
