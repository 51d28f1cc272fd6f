package registry_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"connectrpc.com/connect"

	nodev1 "github.com/soulbox/soulbox/api/node/v1"
	"github.com/soulbox/soulbox/api/node/v1/nodev1connect"
	"github.com/soulbox/soulbox/internal/nodeca"
	"github.com/soulbox/soulbox/internal/nodetoken"
	"github.com/soulbox/soulbox/internal/registry"
)

// countingReader is an endless body that counts what was read of it.
type countingReader struct{ n atomic.Int64 }

func (c *countingReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	c.n.Add(int64(len(p)))
	return len(p), nil
}

// TestJoinBounds: a join is read before anything authenticates it, so a
// body past registry.MaxJoinBytes is refused without being read to its
// end, and a compressed one is refused; neither registers anything nor
// spends the token, which then joins.
func TestJoinBounds(t *testing.T) {
	e := newEnv(t)
	tk, _ := nodetoken.Parse(e.token(t))
	tr := &http.Transport{TLSClientConfig: nodeca.PinnedTLS(tk.CAFingerprint, "127.0.0.1"), ForceAttemptHTTP2: true}
	hc := &http.Client{Transport: tr}

	const sent = 256 << 20
	for _, proto := range []string{"HTTP/2", "HTTP/1.1"} {
		t.Run(proto, func(t *testing.T) {
			c := hc
			if proto == "HTTP/1.1" {
				c = &http.Client{Transport: &http.Transport{TLSClientConfig: nodeca.PinnedTLS(tk.CAFingerprint, "127.0.0.1")}}
			}
			body := &countingReader{}
			req, _ := http.NewRequest("POST", e.url+nodev1connect.NodeServiceJoinProcedure, io.LimitReader(body, sent))
			req.Header.Set("Content-Type", "application/proto")
			res, err := c.Do(req)
			if err == nil {
				b, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if res.StatusCode == 200 || !strings.Contains(string(b), "resource_exhausted") {
					t.Errorf("an endless join = %d %s; want resource_exhausted", res.StatusCode, b)
				}
			}
			if got := body.n.Load(); got >= sent/2 {
				t.Errorf("the server read %d bytes of an endless join (bound %d)", got, registry.MaxJoinBytes)
			}
		})
	}

	gz := nodev1connect.NewNodeServiceClient(hc, e.url, connect.WithSendGzip())
	_, err := gz.Join(context.Background(), connect.NewRequest(&nodev1.JoinRequest{Token: tk.ID + "." + tk.Secret, Name: "node-z", CsrPem: csr(t, "node-z")}))
	if err == nil {
		t.Errorf("a gzip join: %v", err)
	}
	if ns, _ := e.st.ListNodes(context.Background()); len(ns) != 0 {
		t.Errorf("refused joins registered %+v", ns)
	}
	c := nodev1connect.NewNodeServiceClient(hc, e.url)
	if _, err := c.Join(context.Background(), connect.NewRequest(&nodev1.JoinRequest{Token: tk.ID + "." + tk.Secret, Name: "node-z", CsrPem: csr(t, "node-z")})); err != nil {
		t.Errorf("the token after refused joins: %v", err)
	}
}
