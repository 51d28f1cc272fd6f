package bench

import (
	"context"
	"net/http"
	"time"

	"github.com/soulbox/soulbox/internal/client"
)

// PoolHeader on a create request asks the server to start a new sandbox
// instead of handing out one from its warm pool, for one request. A server
// without a pool ignores it.
const PoolHeader = "Soulbox-Pool"

// withoutPool returns a copy of cl whose requests carry PoolHeader: off.
// It shares cl's transport, so its connections are pooled with cl's.
func withoutPool(cl *client.Client) *client.Client {
	base := http.DefaultClient
	if cl.HTTP != nil {
		base = cl.HTTP
	}
	rt := base.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	hc := *base
	hc.Transport = headerTransport{base: rt, name: PoolHeader, value: "off"}
	out := *cl
	out.HTTP = &hc
	return &out
}

// headerTransport adds one header to every request it sends.
type headerTransport struct {
	base        http.RoundTripper
	name, value string
}

func (t headerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	// A RoundTripper must not change the caller's request.
	req = req.Clone(req.Context())
	req.Header.Set(t.name, t.value)
	return t.base.RoundTrip(req)
}

// waitPoolReady waits, untimed, until the server's warm pool holds a
// ready sandbox of template, so that a warm sample measures a pool hit
// rather than a refill still under way. It returns at once when the
// server has no pool for template, and gives up after a while (the
// sample is then whatever the server does without one).
func waitPoolReady(ctx context.Context, cl *client.Client, template string) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		h, ok := serverHealth(ctx, cl)
		if !ok {
			return
		}
		pooled := false
		for _, p := range h.Pool {
			if p.Template == template {
				pooled = true
				if p.Ready > 0 {
					return
				}
			}
		}
		if !pooled {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
}
