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
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/soulbox/soulbox/api/node/v1/nodev1connect"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/nodeca"
	"github.com/soulbox/soulbox/internal/nodetoken"
	"github.com/soulbox/soulbox/internal/store"
)

// pemLeaf parses the first certificate of a PEM file.
func pemLeaf(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		t.Fatalf("%s: no PEM", path)
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestJoinPinsKey: a join records the fingerprint of the key the node
// holds, the key of both its client and serving certificates, and
// Service hands it out with the node's address.
func TestJoinPinsKey(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	dir := t.TempDir()
	if err := e.join(t, dir, "node-k", e.token(t)); err != nil {
		t.Fatal(err)
	}
	n, err := e.st.GetNode(ctx, "node-k")
	if err != nil {
		t.Fatal(err)
	}
	client, serving := pemLeaf(t, filepath.Join(dir, "node", "node.pem")), pemLeaf(t, filepath.Join(dir, "node", "node-serving.pem"))
	if n.KeyFingerprint == "" || n.KeyFingerprint != nodeca.SPKIFingerprint(client) || n.KeyFingerprint != nodeca.SPKIFingerprint(serving) {
		t.Fatalf("recorded key %q; want the node's certificates' key %q", n.KeyFingerprint, nodeca.SPKIFingerprint(client))
	}
	if _, err := e.st.RecordNodeHeartbeat(ctx, "node-k", store.NodeReport{CPUCount: 1, MemoryTotalBytes: 1 << 30, ServiceAddress: "127.0.0.1:3444"}, false, time.Time{}); err != nil {
		t.Fatal(err)
	}
	addr, key, err := e.reg.Service(ctx, "node-k")
	if err != nil || addr != "127.0.0.1:3444" || key != n.KeyFingerprint {
		t.Errorf("Service = %q, %q, %v; want the address and the joined key", addr, key, err)
	}
}

// TestHeartbeatRecordsMissingKey: a node recorded before keys were
// pinned has no key until its next heartbeat, over the certificate of
// its join, records that certificate's key; until then Service refuses
// to hand out a way to reach it.
func TestHeartbeatRecordsMissingKey(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "node-old"}}, key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, fp, err := e.ca.SignNode("node-old", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := nodetoken.Parse(e.token(t))
	if err != nil {
		t.Fatal(err)
	}
	// As a join recorded it before keys were pinned: no key.
	if err := e.st.JoinNode(ctx, nodetoken.SecretHash(tok.ID, tok.Secret), store.Node{ID: "node-old", Status: store.NodeReady, StatusBy: store.ByNode, CertFingerprint: fp}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.RecordNodeHeartbeat(ctx, "node-old", store.NodeReport{CPUCount: 1, MemoryTotalBytes: 1 << 30, ServiceAddress: "127.0.0.1:3444"}, false, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.reg.Service(ctx, "node-old"); !errors.Is(err, errdefs.ErrUnavailable) {
		t.Fatalf("Service of a node without a recorded key = %v; want unavailable", err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(certPEM, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}))
	if err != nil {
		t.Fatal(err)
	}
	tc := &tls.Config{RootCAs: e.ca.Pool(), Certificates: []tls.Certificate{pair}, ServerName: "127.0.0.1"}
	if err := beat(nodev1connect.NewNodeServiceClient(&http.Client{Transport: &http.Transport{TLSClientConfig: tc}}, e.url)); err != nil {
		t.Fatal(err)
	}
	n, err := e.st.GetNode(ctx, "node-old")
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(pair.Certificate[0])
	if n.KeyFingerprint != nodeca.SPKIFingerprint(leaf) || n.CertFingerprint != fp {
		t.Fatalf("after a heartbeat the node is %+v; want its certificate's key %s recorded and the certificate kept", n, nodeca.SPKIFingerprint(leaf))
	}
	if _, err := e.st.RecordNodeHeartbeat(ctx, "node-old", store.NodeReport{CPUCount: 1, MemoryTotalBytes: 1 << 30, ServiceAddress: "127.0.0.1:3444"}, false, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, key, err := e.reg.Service(ctx, "node-old"); err != nil || key != n.KeyFingerprint {
		t.Errorf("Service after the key is recorded = %q, %v", key, err)
	}
}
