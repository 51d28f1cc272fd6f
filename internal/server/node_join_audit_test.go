package server_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"net/http"
	"strings"
	"testing"

	"connectrpc.com/connect"

	nodev1 "github.com/soulbox/soulbox/api/node/v1"
	"github.com/soulbox/soulbox/api/node/v1/nodev1connect"
	"github.com/soulbox/soulbox/internal/nodeca"
	"github.com/soulbox/soulbox/internal/nodetoken"
	"github.com/soulbox/soulbox/internal/ratelimit"
	"github.com/soulbox/soulbox/internal/server"
	"github.com/soulbox/soulbox/internal/store"
)

func nodeCSR(t *testing.T, name string) []byte {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: name}}, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

// TestNodeJoinAudit: on the node listener a refused join is recorded in
// the audit log as a refused credential (the first of its address per
// window), a join as its own entry; past the refusals an address may
// make, its joins are answered 429 unread, even with a good token.
func TestNodeJoinAudit(t *testing.T) {
	nodeAddr := freeAddr(t)
	c, _ := runServer(t, func(cfg *server.Config) { cfg.NodeListen = nodeAddr })
	var tok nodeTokenJSON
	c.want(201, "POST", "/admin/node-tokens", nil, &tok)
	tk, err := nodetoken.Parse(tok.Token)
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: nodeca.PinnedTLS(tk.CAFingerprint, "127.0.0.1"), ForceAttemptHTTP2: true}}
	nc := nodev1connect.NewNodeServiceClient(hc, "https://"+nodeAddr)
	join := func(token, name string) error {
		_, err := nc.Join(context.Background(), connect.NewRequest(&nodev1.JoinRequest{Token: token, Name: name, CsrPem: nodeCSR(t, name)}))
		return err
	}
	unknown := nodetoken.New(tk.CAFingerprint)
	if err := join(unknown.ID+"."+unknown.Secret, "node-x"); connect.CodeOf(err) != connect.CodePermissionDenied {
		t.Fatalf("a join with an unknown token: %v", err)
	}
	if err := join(tk.ID+"."+tk.Secret, "node-a"); err != nil {
		t.Fatal(err)
	}
	var all []store.AuditEntry
	c.want(200, "GET", "/audit", nil, &all)
	var refused, joined []store.AuditEntry
	for _, e := range all {
		switch {
		case e.Action == "POST authenticate" && e.Target == nodev1connect.NodeServiceJoinProcedure:
			refused = append(refused, e)
		case e.Action == "POST "+nodev1connect.NodeServiceJoinProcedure:
			joined = append(joined, e)
		}
	}
	if len(refused) != 1 || !strings.Contains(refused[0].Message, `"node-x"`) || !strings.Contains(refused[0].Message, "not valid") ||
		refused[0].Status != 403 || !strings.HasPrefix(refused[0].Remote, "127.0.0.1:") {
		t.Errorf("refused join entries %+v", refused)
	}
	if len(joined) != 1 || joined[0].Target != "/nodes/node-a" || !strings.Contains(joined[0].Message, tk.ID) || joined[0].Status != 200 {
		t.Errorf("join entries %+v", joined)
	}

	// Past the refusals an address may make (the API's and the node
	// listener's together): 429 before the join is read.
	var good nodeTokenJSON
	c.want(201, "POST", "/admin/node-tokens", nil, &good)
	gt, _ := nodetoken.Parse(good.Token)
	for range ratelimit.DefaultFailureMax {
		_ = join(unknown.ID+"."+unknown.Secret, "node-x")
	}
	req, _ := http.NewRequest("POST", "https://"+nodeAddr+nodev1connect.NodeServiceJoinProcedure, strings.NewReader("{}"))
	req.Header.Set("Content-Type", "application/json")
	res, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 429 || res.Header.Get("Retry-After") == "" || !strings.Contains(string(b), "too many refused credentials") {
		t.Errorf("a join past the refusals = %d %s", res.StatusCode, b)
	}
	if err := join(gt.ID+"."+gt.Secret, "node-b"); err == nil || !strings.Contains(err.Error(), "429") {
		t.Errorf("a good join from a gated address: %v", err)
	}
}
