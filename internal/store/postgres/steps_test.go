package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/postgres/pgtest"
)

// TestStepLeasesShareOneSession holds more pauses' and resumes' leases
// at once than the database takes connections (the test cluster's
// max_connections is 300), as a burst of timeouts pausing sandboxes
// does: they all share one session, another replica's leadership of a
// held name is refused until its release, and the session's death tells
// every hold on it and frees them for others.
func TestStepLeasesShareOneSession(t *testing.T) {
	c := pgtest.Start(t)
	url := c.NewDatabase(t)
	a, b := openURL(t, url), openURL(t, url)
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	sessions := func() int {
		t.Helper()
		var n int
		if err := admin.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := sessions()

	const n = 320
	leases := make([]store.Lease, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l, err := a.StepLeases().TryLead(ctx, fmt.Sprintf("step/sb%d", i))
			if err != nil {
				errs <- err
				return
			}
			leases[i] = l
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("hold a step lease: %v", err)
	}
	if got := sessions(); got > before+1 {
		t.Errorf("%d step leases held open %d sessions, want at most 1", n, got-before)
	}

	// Held here: another replica cannot lead the name, nor can this
	// process hold it twice.
	if _, err := b.TryLead(ctx, "step/sb7"); !errors.Is(err, errdefs.ErrFailedPrecondition) {
		t.Fatalf("b: try lead of a held step: %v, want failed precondition", err)
	}
	if _, err := a.StepLeases().TryLead(ctx, "step/sb7"); !errors.Is(err, errdefs.ErrFailedPrecondition) {
		t.Fatalf("a: hold a held step again: %v, want failed precondition", err)
	}
	// Held by another replica: refused here.
	lb, err := b.TryLead(ctx, "step/other")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.StepLeases().TryLead(ctx, "step/other"); !errors.Is(err, errdefs.ErrFailedPrecondition) {
		t.Fatalf("a: hold a step b leads: %v, want failed precondition", err)
	}
	if err := lb.Release(); err != nil {
		t.Fatal(err)
	}

	// A release frees the name for others at once; twice is harmless.
	if err := leases[7].Release(); err != nil {
		t.Fatal(err)
	}
	if err := leases[7].Release(); err != nil {
		t.Errorf("second release: %v", err)
	}
	l7, err := b.TryLead(ctx, "step/sb7")
	if err != nil {
		t.Fatalf("b: try lead of a released step: %v", err)
	}
	if err := l7.Release(); err != nil {
		t.Fatal(err)
	}

	// The session dies: every hold learns it, and the names are free.
	admin.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted`)
	for i, l := range leases {
		if i == 7 {
			continue
		}
		select {
		case <-l.Lost():
		case <-time.After(10 * time.Second):
			t.Fatalf("hold %d did not learn that its session ended", i)
		}
	}
	lb, err = b.TryLead(ctx, "step/sb3")
	if err != nil {
		t.Fatalf("b: try lead of a step whose holder's session ended: %v", err)
	}
	lb.Release()
	for _, l := range leases {
		if err := l.Release(); err != nil {
			t.Errorf("release after loss: %v", err)
		}
	}

	// The leader's tries at steps under way elsewhere, as settleLeft
	// makes each monitor pass, reuse one session rather than opening
	// one each: the session that then takes a step is the first try's.
	lb, err = b.TryLead(ctx, "step/elsewhere")
	if err != nil {
		t.Fatal(err)
	}
	defer lb.Release()
	for range 20 {
		if _, err := a.StepLeases().TryLead(ctx, "step/elsewhere"); !errors.Is(err, errdefs.ErrFailedPrecondition) {
			t.Fatalf("a: hold a step b leads: %v, want failed precondition", err)
		}
	}
	tried := time.Now()
	l, err := a.StepLeases().TryLead(ctx, "step/sb3")
	if err != nil {
		t.Fatalf("hold after the session was lost: %v", err)
	}
	var newest time.Time
	if err := admin.QueryRow(ctx, `SELECT max(a.backend_start) FROM pg_locks l JOIN pg_stat_activity a USING (pid)
		WHERE l.locktype = 'advisory' AND l.granted`).Scan(&newest); err != nil {
		t.Fatal(err)
	}
	if newest.After(tried) {
		t.Errorf("the step was taken on a session opened after the tries (%v > %v): each try opened its own", newest, tried)
	}
	// The last release closes the session, at the next check.
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	lb.Release()
	deadline := time.Now().Add(5 * time.Second)
	for sessions() > before && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if got := sessions(); got > before {
		t.Errorf("%d sessions left open after every step lease was released", got-before)
	}
}
