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
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	nodev1 "github.com/soulbox/soulbox/api/node/v1"
	"github.com/soulbox/soulbox/api/node/v1/nodev1connect"
	"github.com/soulbox/soulbox/internal/nodeagent"
	"github.com/soulbox/soulbox/internal/nodeca"
)

// TestNodeRenewsCertificates: with certificates living seconds (the
// CA's lifetime knob), a running node renews its client and serving
// certificates before they expire, for a new key each time; the store
// records each renewal's certificate and key, the files on disk are the
// renewed ones, and the node keeps heartbeating past its first
// certificate's expiry instead of stopping.
func TestNodeRenewsCertificates(t *testing.T) {
	e := newEnv(t)
	e.ca.SetLifetime(10 * time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir()
	done := make(chan error, 1)
	go func() {
		done <- nodeagent.Run(ctx, nodeagent.Config{ControlPlane: e.url, JoinToken: e.token(t), DataDir: dir, Name: "node-r"})
	}()
	var joinedNotAfter time.Time
	var joinedCert, joinedKey string
	seen := map[string]bool{}
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case err := <-done:
			t.Fatalf("the node stopped: %v", err)
		case <-time.After(100 * time.Millisecond):
		}
		n, err := e.st.GetNode(context.Background(), "node-r")
		if err != nil {
			if time.Now().After(deadline) {
				t.Fatalf("the node did not join: %v", err)
			}
			continue
		}
		if joinedCert == "" {
			joinedCert, joinedKey = n.CertFingerprint, n.KeyFingerprint
			joinedNotAfter = pemLeaf(t, filepath.Join(dir, "node", "node.pem")).NotAfter
		}
		seen[n.CertFingerprint+"/"+n.KeyFingerprint] = true
		// Two renewals, and a heartbeat well past the joined
		// certificate's expiry.
		if len(seen) >= 3 && n.HeartbeatAt.After(joinedNotAfter.Add(time.Second)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after a minute: %d certificates recorded, last heartbeat %s, joined certificate expired %s", len(seen), n.HeartbeatAt, joinedNotAfter)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("the node ended with %v", err)
	}
	n, err := e.st.GetNode(context.Background(), "node-r")
	if err != nil {
		t.Fatal(err)
	}
	if n.CertFingerprint == joinedCert || n.KeyFingerprint == joinedKey {
		t.Errorf("the store still records the joined certificate or key: %+v", n)
	}
	client, serving := pemLeaf(t, filepath.Join(dir, "node", "node.pem")), pemLeaf(t, filepath.Join(dir, "node", "node-serving.pem"))
	if nodeca.CertFingerprint(client.Raw) != n.CertFingerprint || nodeca.SPKIFingerprint(client) != n.KeyFingerprint || nodeca.SPKIFingerprint(serving) != n.KeyFingerprint {
		t.Errorf("the node's files are not the certificates of record: client %s key %s, serving key %s; store %+v",
			nodeca.CertFingerprint(client.Raw), nodeca.SPKIFingerprint(client), nodeca.SPKIFingerprint(serving), n)
	}
	if serving.DNSNames[0] != "node-r" {
		t.Errorf("the renewed serving certificate names %v", serving.DNSNames)
	}
	if _, err := os.Stat(filepath.Join(dir, "node", "node-key.next.pem")); !os.IsNotExist(err) {
		t.Errorf("a pending key is left after the renewals: %v", err)
	}
}

// TestRenewRetryAndRefusals: a renewal whose answer is lost is asked
// again with the previous certificate and a CSR for the key it
// recorded, and succeeds; the previous certificate with any other key,
// a CSR for another name, and no client certificate are refused, and
// the store keeps the certificate of record.
func TestRenewRetryAndRefusals(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	dir := t.TempDir()
	if err := e.join(t, dir, "node-q", e.token(t)); err != nil {
		t.Fatal(err)
	}
	old := clientOf(t, dir, e.url)
	k2key, k2 := keyCSR(t, "node-q")
	res, err := old.Renew(ctx, connect.NewRequest(&nodev1.RenewRequest{CsrPem: k2}))
	if err != nil {
		t.Fatal(err)
	}
	first, err := e.st.GetNode(ctx, "node-q")
	if err != nil {
		t.Fatal(err)
	}
	if first.CertFingerprint == "" || len(res.Msg.GetCertificatePem()) == 0 || len(res.Msg.GetServingCertificatePem()) == 0 {
		t.Fatalf("renewal answered %+v, node %+v", res.Msg, first)
	}
	// The answer was lost: the node asks again with what it holds.
	if _, err := old.Renew(ctx, connect.NewRequest(&nodev1.RenewRequest{CsrPem: k2})); err != nil {
		t.Fatalf("a renewal retried for the key it recorded: %v", err)
	}
	again, _ := e.st.GetNode(ctx, "node-q")
	if again.KeyFingerprint != first.KeyFingerprint || again.CertFingerprint == first.CertFingerprint {
		t.Errorf("the retry recorded %+v; want a new certificate for the same key as %+v", again, first)
	}
	// The retry's answer is lost too: asked again, still accepted.
	res, err = old.Renew(ctx, connect.NewRequest(&nodev1.RenewRequest{CsrPem: k2}))
	if err != nil {
		t.Fatalf("a renewal retried twice for the key it recorded: %v", err)
	}
	// The node, holding that answer, renews for a third key: its first
	// certificate is now older than the one that renewal replaced, and a
	// renewal with it is refused though its CSR is for the key of record.
	_, k3 := keyCSR(t, "node-q")
	if _, err := certClient(t, res.Msg, k2key, e.url).Renew(ctx, connect.NewRequest(&nodev1.RenewRequest{CsrPem: k3})); err != nil {
		t.Fatalf("a renewal with the certificate of record: %v", err)
	}
	if _, err := old.Renew(ctx, connect.NewRequest(&nodev1.RenewRequest{CsrPem: k3})); connect.CodeOf(err) != connect.CodePermissionDenied || !strings.Contains(err.Error(), "not the one of record") {
		t.Errorf("a renewal with an older certificate than the one replaced, for the key of record: %v; want refused", err)
	}
	again, _ = e.st.GetNode(ctx, "node-q")

	for _, c := range []struct {
		name string
		csr  []byte
		code connect.Code
		msg  string
	}{
		{"the replaced certificate with another key", csr(t, "node-q"), connect.CodePermissionDenied, "not the one of record"},
		{"a CSR for another name", csr(t, "node-z"), connect.CodePermissionDenied, "node-z"},
		{"not a CSR", []byte("hello"), connect.CodeInvalidArgument, "CSR"},
	} {
		_, err := old.Renew(ctx, connect.NewRequest(&nodev1.RenewRequest{CsrPem: c.csr}))
		if connect.CodeOf(err) != c.code || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: %v; want %v saying %q", c.name, err, c.code, c.msg)
		}
	}
	if got, _ := e.st.GetNode(ctx, "node-q"); got.CertFingerprint != again.CertFingerprint || got.KeyFingerprint != again.KeyFingerprint {
		t.Errorf("refused renewals changed the node: %+v -> %+v", again, got)
	}
}

// TestNodeRecoversLostRenewal: a node whose renewal the control plane
// recorded but whose answer it never got (its pending key on disk, its
// old certificate refused) renews again for the same key at its next
// start and heartbeats on, instead of stopping as refused.
func TestNodeRecoversLostRenewal(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	dir := t.TempDir()
	if err := e.join(t, dir, "node-l", e.token(t)); err != nil {
		t.Fatal(err)
	}
	// The renewal under way: its key kept as the node keeps it, the
	// control plane asked, the answer dropped.
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "node", "node-key.next.pem"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	csrDER, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "node-l"}}, key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := clientOf(t, dir, e.url).Renew(ctx, connect.NewRequest(&nodev1.RenewRequest{CsrPem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csrDER})})); err != nil {
		t.Fatal(err)
	}
	if err := beat(clientOf(t, dir, e.url)); connect.CodeOf(err) != connect.CodePermissionDenied {
		t.Fatalf("a heartbeat with the replaced certificate = %v; want it refused", err)
	}
	// The node starts again: it completes the renewal, then heartbeats.
	if err := e.join(t, dir, "", "", "node-l"); err != nil {
		t.Fatalf("the node after a lost renewal answer: %v", err)
	}
	n, err := e.st.GetNode(ctx, "node-l")
	if err != nil {
		t.Fatal(err)
	}
	client := pemLeaf(t, filepath.Join(dir, "node", "node.pem"))
	if want := nodeca.SPKIFingerprint(client); n.KeyFingerprint != want || nodeca.CertFingerprint(client.Raw) != n.CertFingerprint {
		t.Errorf("the node holds certificate %s for key %s; the store records %+v", nodeca.CertFingerprint(client.Raw), want, n)
	}
	if _, err := os.Stat(filepath.Join(dir, "node", "node-key.next.pem")); !os.IsNotExist(err) {
		t.Errorf("the pending key is left: %v", err)
	}
}

// keyCSR is a new key and a CSR of it for name cn.
func keyCSR(t *testing.T, cn string) (*ecdsa.PrivateKey, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn}}, key)
	if err != nil {
		t.Fatal(err)
	}
	return key, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

// certClient is a node client holding the certificate a renewal
// answered, for key.
func certClient(t *testing.T, res *nodev1.RenewResponse, key *ecdsa.PrivateKey, url string) nodev1connect.NodeServiceClient {
	t.Helper()
	block, _ := pem.Decode(res.GetCertificatePem())
	if block == nil {
		t.Fatal("the renewal answered no certificate")
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(res.GetCaPem())
	tc := &tls.Config{RootCAs: roots, ServerName: "127.0.0.1",
		Certificates: []tls.Certificate{{Certificate: [][]byte{block.Bytes}, PrivateKey: key}}}
	return nodev1connect.NewNodeServiceClient(&http.Client{Transport: &http.Transport{TLSClientConfig: tc}}, url)
}
