package registry_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	nodev1 "github.com/soulbox/soulbox/api/node/v1"
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
	e.ca.SetLifetime(6 * time.Second)
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
	k2 := csr(t, "node-q")
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
