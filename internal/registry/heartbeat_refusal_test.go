package registry_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"net/http"
	"strings"
	"testing"

	"connectrpc.com/connect"

	nodev1 "github.com/soulbox/soulbox/api/node/v1"
	"github.com/soulbox/soulbox/api/node/v1/nodev1connect"
	"github.com/soulbox/soulbox/internal/nodeca"
)

// signedClient is a mutual TLS client whose certificate the node CA
// signed for name over a fresh key: what a CA-signed certificate that is
// not the one of the node's join looks like.
func signedClient(t *testing.T, ca *nodeca.CA, name, url string) nodev1connect.NodeServiceClient {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: name}}, key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, _, err := ca.SignNode(name, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(certPEM, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}))
	if err != nil {
		t.Fatal(err)
	}
	tc := &tls.Config{RootCAs: ca.Pool(), Certificates: []tls.Certificate{pair}, ServerName: "127.0.0.1"}
	return nodev1connect.NewNodeServiceClient(&http.Client{Transport: &http.Transport{TLSClientConfig: tc}}, url)
}

func beat(c nodev1connect.NodeServiceClient) error {
	_, err := c.Heartbeat(context.Background(), connect.NewRequest(&nodev1.HeartbeatRequest{
		Capacity: &nodev1.Capacity{CpuCount: 2, MemoryTotalBytes: 1 << 30}}))
	return err
}

// TestHeartbeatRefusals: a certificate the node CA signed for a joined
// node's name, but not the one signed at its join, is refused and leaves
// the node as it was; so is one naming the embedded node, which is never
// reported by heartbeats.
func TestHeartbeatRefusals(t *testing.T) {
	e := newEnvEmbedded(t, "local")
	ctx := context.Background()
	if err := e.join(t, t.TempDir(), "node-h", e.token(t)); err != nil {
		t.Fatal(err)
	}
	before, err := e.st.GetNode(ctx, "node-h")
	if err != nil {
		t.Fatal(err)
	}
	err = beat(signedClient(t, e.ca, "node-h", e.url))
	if connect.CodeOf(err) != connect.CodePermissionDenied || !strings.Contains(err.Error(), "not the one signed at its join") {
		t.Errorf("a heartbeat with another CA-signed certificate of the name: %v", err)
	}
	after, _ := e.st.GetNode(ctx, "node-h")
	if !after.HeartbeatAt.Equal(before.HeartbeatAt) || after.Status != before.Status || after.Report.CPUCount != before.Report.CPUCount {
		t.Errorf("a refused heartbeat changed the node: %+v -> %+v", before, after)
	}

	emb, err := e.st.GetNode(ctx, "local")
	if err != nil || !emb.Embedded {
		t.Fatalf("the embedded node: %+v, %v", emb, err)
	}
	err = beat(signedClient(t, e.ca, "local", e.url))
	if connect.CodeOf(err) != connect.CodePermissionDenied {
		t.Errorf("a heartbeat naming the embedded node: %v", err)
	}
	if got, _ := e.st.GetNode(ctx, "local"); !got.HeartbeatAt.Equal(emb.HeartbeatAt) || got.Report.CPUCount != 0 {
		t.Errorf("a heartbeat wrote the embedded node: %+v", got)
	}
}
