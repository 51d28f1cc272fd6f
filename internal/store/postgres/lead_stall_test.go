package postgres

import (
	"context"
	"errors"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store/postgres/pgtest"
	"github.com/soulbox/soulbox/internal/testutil"
)

// TestLeadershipSurvivesSlowDatabase: the leader's database session stops
// answering for 7 s (its server process is stopped, as a database stalled
// on its disk or its CPU would be), longer than one ping may take. The
// ping is cancelled on the server, the session and its lock stay, and the
// leader keeps leading: a busy database is no reason to stop a server.
func TestLeadershipSurvivesSlowDatabase(t *testing.T) {
	testutil.RequiresRoot(t) // to stop the postgres user's process
	c := pgtest.Start(t)
	url := c.NewDatabase(t)
	a, b := openURL(t, url), openURL(t, url)
	ctx := context.Background()
	la, err := a.TryLead(ctx, "background")
	if err != nil {
		t.Fatal(err)
	}
	defer la.Release()
	pid := leaseBackend(t, b)
	stall(t, pid, 7*time.Second)
	// A few checks after the session answers again.
	select {
	case <-la.Lost():
		t.Fatal("the leader gave up its leadership over one slow ping")
	case <-time.After(3 * time.Second):
	}
	if _, err := b.TryLead(ctx, "background"); !errors.Is(err, errdefs.ErrFailedPrecondition) {
		t.Fatalf("b: try lead after a's session stalled: %v, want failed precondition (a still leads)", err)
	}
}

// TestLeadershipLostWhenDatabaseStopsAnswering: a session that answers
// nothing for several pings is given up by its holder, who learns of it
// through Lost, and the lock then passes to another process.
func TestLeadershipLostWhenDatabaseStopsAnswering(t *testing.T) {
	testutil.RequiresRoot(t)
	c := pgtest.Start(t)
	url := c.NewDatabase(t)
	a, b := openURL(t, url), openURL(t, url)
	a.leaseTiming.check, a.leaseTiming.ping = 50*time.Millisecond, 200*time.Millisecond
	ctx := context.Background()
	la, err := a.TryLead(ctx, "background")
	if err != nil {
		t.Fatal(err)
	}
	defer la.Release()
	pid := leaseBackend(t, b)
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	select {
	case <-la.Lost():
	case <-time.After(30 * time.Second):
		t.Error("the leader did not give up a session that stopped answering")
	}
	if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	// The resumed server process finds its client gone and ends, with
	// the lock.
	deadline := time.Now().Add(30 * time.Second)
	for {
		lb, err := b.TryLead(ctx, "background")
		if err == nil {
			lb.Release()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("b: try lead after a gave up: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// leaseBackend is the pid of the server process of the session holding an
// advisory lock, read through s.
func leaseBackend(t *testing.T, s *Store) int {
	t.Helper()
	var pid int
	if err := s.pool.QueryRow(context.Background(), `SELECT pid FROM pg_locks
		WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`).Scan(&pid); err != nil {
		t.Fatal(err)
	}
	return pid
}

// stall stops process pid for d.
func stall(t *testing.T, pid int, d time.Duration) {
	t.Helper()
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	time.Sleep(d)
	if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
}

// TestLeaseKeepalives: over TCP, the lease's session has the server probe
// an idle client and drop one that stops acknowledging, so that a holder
// whose host died releases the lock within the bound leaseTiming
// documents, not the operating system's two hours.
func TestLeaseKeepalives(t *testing.T) {
	c := pgtest.StartTCP(t)
	c.NewDatabase(t)
	s := openURL(t, c.TCPURL("t1"))
	l, err := s.TryLead(context.Background(), "background")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	ls := l.(*lease)
	ls.mu.Lock()
	var idle, interval, count, user string
	err = ls.conn.QueryRow(context.Background(), `SELECT current_setting('tcp_keepalives_idle'), current_setting('tcp_keepalives_interval'),
		current_setting('tcp_keepalives_count'), current_setting('tcp_user_timeout')`).Scan(&idle, &interval, &count, &user)
	ls.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	if got := []string{idle, interval, count, user}; !slices.Equal(got, []string{"10", "10", "3", "40000"}) {
		t.Errorf("lease session's keepalive idle, interval, count and user timeout: %q, want 10 s, 10 s, 3 and 40000 ms", got)
	}
}
