package server_test

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/nodeca"
	"github.com/soulbox/soulbox/internal/server"
	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/sqlite"
)

// TestJoinedNodeRenewsCertificates: with --node-cert-lifetime of
// seconds, a `soulbox node` serving sandboxes renews its certificates
// (new keys) at its heartbeats; past its first certificate's expiry it
// is still ready, a sandbox made before the renewals is killed through
// it, and a create after them lands on it: the control plane reaches the
// node's service under each new key.
func TestJoinedNodeRenewsCertificates(t *testing.T) {
	if testing.Short() {
		t.Skip("creates real sandboxes")
	}
	bin := buildServer(t, "")
	nodeAddr := freeAddr(t)
	c, cfg := runServer(t, func(cfg *server.Config) {
		cfg.NodeListen = nodeAddr
		cfg.NodeHeartbeatTimeout = 3 * time.Second
		cfg.NodeCertLifetime = 12 * time.Second
	})
	listen := freeAddr(t)
	n, dir := joinRunningNode(t, c, bin, "https://"+nodeAddr, "node-renew", listen, "10.247.42.0/24")
	certPath := filepath.Join(dir, "node", "node.pem")
	first := pemCert(t, certPath)
	var nodes []nodeJSON
	c.want(200, "GET", "/nodes", nil, &nodes)
	for _, nd := range nodes {
		if nd.ID != "node-renew" {
			c.want(204, "POST", "/nodes/"+nd.ID, map[string]any{"status": "draining"}, nil)
		}
	}
	var made []string
	t.Cleanup(func() {
		for _, id := range made {
			c.do("DELETE", "/sandboxes/"+id, nil)
		}
	})
	create := func(what string) string {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			code, b, _ := c.do("POST", "/sandboxes", map[string]any{"templateID": "base", "timeout": 300})
			if code == 201 {
				var sb sandboxJSON
				if err := json.Unmarshal(b, &sb); err != nil {
					t.Fatal(err)
				}
				made = append(made, sb.SandboxID)
				return sb.SandboxID
			}
			if code != 503 || time.Now().After(deadline) {
				t.Fatalf("create %s = %d %s\nnode:\n%s", what, code, b, n.stderr)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	before := create("before the renewals")

	// Two renewals, each for a new key, and the first certificate past
	// its expiry.
	keys := map[string]bool{nodeca.SPKIFingerprint(first): true}
	deadline := time.Now().Add(90 * time.Second)
	for len(keys) < 3 || time.Now().Before(first.NotAfter.Add(3*time.Second)) {
		if time.Now().After(deadline) {
			t.Fatalf("after 90 s the node holds %d keys; want its joined key and two renewed ones\nnode:\n%s", len(keys), n.stderr)
		}
		time.Sleep(200 * time.Millisecond)
		keys[nodeca.SPKIFingerprint(pemCert(t, certPath))] = true
	}
	// A heartbeat after that expiry was taken: the node signs them with
	// a renewed certificate. (Its status alone may read unhealthy for a
	// moment when a loaded host delays a heartbeat past the 3 s timeout.)
	db, err := sqlite.Open(context.Background(), filepath.Join(cfg.DataDir, "soulbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		nd, err := db.GetNode(context.Background(), "node-renew")
		if err == nil && nd.Status == store.NodeReady && nd.HeartbeatAt.After(first.NotAfter) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no heartbeat taken 30 s past the first certificate's expiry (%s): node %+v, %v\nnode:\n%s", first.NotAfter, nd, err, n.stderr)
		}
	}
	c.want(204, "DELETE", "/sandboxes/"+before, nil, nil)
	after := create("after the renewals")
	c.want(204, "DELETE", "/sandboxes/"+after, nil, nil)
}

// pemCert parses the first certificate of a PEM file.
func pemCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		t.Fatalf("%s holds no PEM", path)
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
