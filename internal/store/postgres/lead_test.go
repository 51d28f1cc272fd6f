package postgres

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/postgres/pgtest"
)

// TestLeadership is two control-plane replicas, each with its own store
// client, on one database: one leads at a time, the other takes over when
// the first releases or its session dies.
func TestLeadership(t *testing.T) {
	c := pgtest.Start(t)
	url := c.NewDatabase(t)
	a, b := openURL(t, url), openURL(t, url)
	ctx := context.Background()

	la, err := a.TryLead(ctx, "background")
	if err != nil {
		t.Fatalf("a: try lead: %v", err)
	}
	if _, err := b.TryLead(ctx, "background"); !errors.Is(err, errdefs.ErrFailedPrecondition) {
		t.Fatalf("b: try lead while a leads: %v, want failed precondition", err)
	}
	// Another name is another leadership.
	lo, err := b.TryLead(ctx, "other")
	if err != nil {
		t.Fatalf("b: try lead of another name: %v", err)
	}
	if err := lo.Release(); err != nil {
		t.Fatal(err)
	}

	// b waits; a's release hands over.
	got := make(chan store.Lease, 1)
	go func() {
		l, err := b.Lead(ctx, "background")
		if err != nil {
			t.Errorf("b: lead: %v", err)
		}
		got <- l
	}()
	select {
	case <-got:
		t.Fatal("b leads while a still does")
	case <-time.After(300 * time.Millisecond):
	}
	if err := la.Release(); err != nil {
		t.Fatalf("a: release: %v", err)
	}
	if err := la.Release(); err != nil {
		t.Errorf("a: second release: %v", err)
	}
	lb := <-got
	if lb == nil {
		t.FailNow()
	}
	if _, err := a.TryLead(ctx, "background"); !errors.Is(err, errdefs.ErrFailedPrecondition) {
		t.Fatalf("a: try lead while b leads: %v, want failed precondition", err)
	}

	// b's session dies (its host lost the database): b learns it lost the
	// leadership, and a can take it.
	c.Exec(t, "postgres", `SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted`)
	select {
	case <-lb.Lost():
	case <-time.After(10 * time.Second):
		t.Fatal("b did not notice that its session ended")
	}
	la2, err := a.TryLead(ctx, "background")
	if err != nil {
		t.Fatalf("a: try lead after b's session ended: %v", err)
	}
	if err := lb.Release(); err != nil {
		t.Errorf("b: release after loss: %v", err)
	}
	if err := la2.Release(); err != nil {
		t.Error(err)
	}

	// A wait that is given up returns the context's error and holds nothing.
	lx, err := a.TryLead(ctx, "background")
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if _, err := b.Lead(short, "background"); err == nil {
		t.Fatal("b: lead with an expiring context succeeded while a leads")
	}
	if err := lx.Release(); err != nil {
		t.Fatal(err)
	}
	ly, err := b.TryLead(ctx, "background")
	if err != nil {
		t.Fatalf("b: try lead after its given-up wait: %v", err)
	}
	if err := ly.Release(); err != nil {
		t.Fatal(err)
	}
	if _, err := a.TryLead(ctx, ""); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("empty name: %v, want invalid argument", err)
	}
}
