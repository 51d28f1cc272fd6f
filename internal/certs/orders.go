package certs

import (
	"fmt"
	"sync"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// Bounds on the certificate orders an ACME authority is sent: a client
// naming a live sandbox's many ports, or many sandboxes, must not spend
// the authority's limits (Let's Encrypt allows 50 certificates per
// registered domain a week) or make the server order without end.
var (
	// OrdersPerSandbox is the most certificates ordered for the hosts of
	// one sandbox while the server runs.
	OrdersPerSandbox = 4
	// OrderBurst and OrderInterval bound orders across sandboxes: a
	// burst of OrderBurst, then one per OrderInterval.
	OrderBurst    = 10
	OrderInterval = 5 * time.Minute
)

// maxOrderSandboxes bounds the sandboxes orders are counted for; past it
// the oldest counts are forgotten, which the global bound still covers.
const maxOrderSandboxes = 4096

// orders is the budget of certificate orders: a token bucket shared by
// all names and a count per sandbox.
type orders struct {
	mu       sync.Mutex
	now      func() time.Time
	tokens   float64
	last     time.Time
	sandbox  map[string]int
	sandboxQ []string // the order sandboxes were first counted in
}

func newOrders() *orders {
	return &orders{now: time.Now, tokens: float64(OrderBurst), sandbox: map[string]int{}}
}

// take spends one order for sandbox id ("" for the server's own names,
// counted only globally), or says why there is none left.
func (o *orders) take(id string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	now := o.now()
	if !o.last.IsZero() {
		o.tokens = min(float64(OrderBurst), o.tokens+float64(now.Sub(o.last))/float64(OrderInterval))
	}
	o.last = now
	if id != "" && o.sandbox[id] >= OrdersPerSandbox {
		return fmt.Errorf("sandbox %s already had %d certificates ordered: %w", id, OrdersPerSandbox, errdefs.ErrResourceExhausted)
	}
	if o.tokens < 1 {
		return fmt.Errorf("certificate orders are limited to %d at once, then one per %s: %w", OrderBurst, OrderInterval, errdefs.ErrResourceExhausted)
	}
	o.tokens--
	if id == "" {
		return nil
	}
	if _, ok := o.sandbox[id]; !ok {
		if len(o.sandboxQ) >= maxOrderSandboxes {
			delete(o.sandbox, o.sandboxQ[0])
			o.sandboxQ = o.sandboxQ[1:]
		}
		o.sandboxQ = append(o.sandboxQ, id)
	}
	o.sandbox[id]++
	return nil
}
