package certs

import (
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
)

func TestOrdersBudget(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	o := newOrders()
	o.now = func() time.Time { return now }
	for i := 0; i < OrdersPerSandbox; i++ {
		if err := o.take("a"); err != nil {
			t.Fatalf("order %d of sandbox a: %v", i+1, err)
		}
	}
	if err := o.take("a"); !errors.Is(err, errdefs.ErrResourceExhausted) {
		t.Fatalf("order past the sandbox's cap: %v", err)
	}
	// The global burst: what is left of it, across sandboxes.
	for i := OrdersPerSandbox; i < OrderBurst; i++ {
		if err := o.take("s" + strconv.Itoa(i)); err != nil {
			t.Fatalf("order %d: %v", i+1, err)
		}
	}
	if err := o.take("other"); !errors.Is(err, errdefs.ErrResourceExhausted) {
		t.Fatalf("order past the burst: %v", err)
	}
	if err := o.take(""); err == nil {
		t.Fatal("the server's own names escape the global bound")
	}
	now = now.Add(OrderInterval)
	if err := o.take("other"); err != nil {
		t.Fatalf("after one interval: %v", err)
	}
	if err := o.take("other2"); err == nil {
		t.Fatal("two orders after one interval")
	}
	if err := o.take("a"); err == nil {
		t.Fatal("a sandbox's cap is restored by time")
	}
}

// The per-sandbox counts stay bounded however many sandboxes order.
func TestOrdersBounded(t *testing.T) {
	o := newOrders()
	o.tokens = 1e9
	for i := 0; i < 3*maxOrderSandboxes; i++ {
		_ = o.take(strconv.Itoa(i))
		o.tokens = 1e9
	}
	if len(o.sandbox) > maxOrderSandboxes || len(o.sandboxQ) > maxOrderSandboxes {
		t.Fatalf("%d counts, %d queued", len(o.sandbox), len(o.sandboxQ))
	}
}
