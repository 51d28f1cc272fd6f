package server_test

import (
	"context"
	"net/http"
	"testing"

	"connectrpc.com/connect"

	nodev1 "github.com/soulbox/soulbox/api/node/v1"
	"github.com/soulbox/soulbox/api/node/v1/nodev1connect"
	"github.com/soulbox/soulbox/internal/nodeca"
	"github.com/soulbox/soulbox/internal/nodetoken"
	"github.com/soulbox/soulbox/internal/server"
)

// TestDeleteNodeRoute: DELETE /nodes/{nodeID} removes a joined node (204,
// then 404), refuses the server's own node (409), an unknown node (404)
// and a bad name (400); the deleted name joins again with a new token.
func TestDeleteNodeRoute(t *testing.T) {
	nodeAddr := freeAddr(t)
	c, _ := runServer(t, func(cfg *server.Config) { cfg.NodeListen = nodeAddr })
	join := func(name string) {
		t.Helper()
		var tok nodeTokenJSON
		c.want(201, "POST", "/admin/node-tokens", nil, &tok)
		tk, _ := nodetoken.Parse(tok.Token)
		hc := &http.Client{Transport: &http.Transport{TLSClientConfig: nodeca.PinnedTLS(tk.CAFingerprint, "127.0.0.1"), ForceAttemptHTTP2: true}}
		_, err := nodev1connect.NewNodeServiceClient(hc, "https://"+nodeAddr).Join(context.Background(),
			connect.NewRequest(&nodev1.JoinRequest{Token: tk.ID + "." + tk.Secret, Name: name, CsrPem: nodeCSR(t, name)}))
		if err != nil {
			t.Fatal(err)
		}
	}
	join("node-a")
	var nodes []nodeJSON
	c.want(200, "GET", "/nodes", nil, &nodes)
	embedded := ""
	for _, n := range nodes {
		if n.ID != "node-a" {
			embedded = n.ID
		}
	}
	if embedded == "" {
		t.Fatalf("nodes %+v", nodes)
	}
	wantMsg(t, c, 409, "DELETE", "/nodes/"+embedded, nil, "only drained")
	wantMsg(t, c, 404, "DELETE", "/nodes/no-such-node", nil, "not found")
	wantMsg(t, c, 400, "DELETE", "/nodes/Bad_Name", nil, "node name")
	c.want(204, "DELETE", "/nodes/node-a", nil, nil)
	c.want(404, "GET", "/nodes/node-a", nil, nil)
	c.want(404, "DELETE", "/nodes/node-a", nil, nil)
	join("node-a")
	c.want(200, "GET", "/nodes/node-a", nil, nil)
}
