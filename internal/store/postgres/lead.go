package postgres

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
)

var (
	_ store.Leader = (*Store)(nil)
	_ store.Lease  = (*lease)(nil)
)

// leaseTiming is how a held leadership watches its session.
//
// The holder pings its session every check. A ping that takes longer than
// ping is cancelled on the server (a cancel request: the session, and the
// lock with it, stays), and counts as one failure; lossAfter failures in a
// row, or a session that is gone (a ping unanswered for 2 x ping closes
// the connection), close Lost. So a holder whose database stops answering
// gives up within lossAfter x (check + 2 x ping), 33 s with the defaults,
// while one slow answer, a database busy for a few seconds, changes
// nothing.
//
// The other side is the database's: a holder whose host dies, or is cut
// off, leaves a session nobody closes. Over TCP the lease's session asks
// the server to probe an idle client (keepalive after idle, every
// interval, count times) and to drop a connection whose data goes
// unacknowledged for userTimeout, so the server ends it, and releases the
// lock, within idle + interval x count = 40 s of the last word from the
// holder, instead of the operating system's two hours. That is after the
// holder has given up (33 s), so two processes never lead at once through
// a cut-off holder, and another process takes over within about 40 s of
// the holder's host dying. Over a Unix socket the server sees a dead
// client at once.
type leaseTiming struct {
	check, ping time.Duration
	lossAfter   int
	// TCP keepalive and user timeout of the lease's session, set on the
	// server's side of the connection.
	idle, interval time.Duration
	count          int
	userTimeout    time.Duration
}

var defaultLeaseTiming = leaseTiming{
	check: time.Second, ping: 5 * time.Second, lossAfter: 3,
	idle: 10 * time.Second, interval: 10 * time.Second, count: 3, userTimeout: 40 * time.Second,
}

// Leadership is a session-level advisory lock held on a connection of its
// own, outside the pool, for as long as it is held: PostgreSQL releases
// the lock when that session ends, so a process that dies or loses the
// database gives the leadership up by itself.

// TryLead implements store.Leader.
func (s *Store) TryLead(ctx context.Context, name string) (store.Lease, error) {
	return s.lead(ctx, name, false, false)
}

// TryShare implements store.Leader: the advisory lock taken shared.
func (s *Store) TryShare(ctx context.Context, name string) (store.Lease, error) {
	return s.lead(ctx, name, false, true)
}

// Lead implements store.Leader.
func (s *Store) Lead(ctx context.Context, name string) (store.Lease, error) {
	return s.lead(ctx, name, true, false)
}

func (s *Store) lead(ctx context.Context, name string, wait, shared bool) (store.Lease, error) {
	if name == "" {
		return nil, fmt.Errorf("leadership: empty name: %w", errdefs.ErrInvalidArgument)
	}
	conn, err := s.leaseConn(ctx)
	if err != nil {
		return nil, fmt.Errorf("leadership %q: %w", name, err)
	}
	key := lockKey(name)
	var got bool
	switch {
	case shared:
		err = conn.QueryRow(ctx, `SELECT pg_try_advisory_lock_shared($1)`, key).Scan(&got)
	case wait:
		_, err = conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, key)
		got = err == nil
	default:
		err = conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&got)
	}
	if err != nil || !got {
		_ = conn.Close(context.WithoutCancel(ctx))
		if err != nil {
			return nil, fmt.Errorf("leadership %q: %w", name, err)
		}
		return nil, fmt.Errorf("leadership %q is held by another process: %w", name, errdefs.ErrFailedPrecondition)
	}
	l := &lease{name: name, key: key, shared: shared, conn: conn, timing: s.leaseTiming,
		lost: make(chan struct{}), stop: make(chan struct{}), done: make(chan struct{})}
	go l.watch()
	return l, nil
}

// leaseConn opens the connection a lease holds: the pool's settings, plus
// the keepalives of leaseTiming, and a context watcher that cancels a
// query that runs late on the server instead of closing the connection,
// which would end the session and give the lock up.
func (s *Store) leaseConn(ctx context.Context) (*pgx.Conn, error) {
	lt := s.leaseTiming
	cfg := s.pool.Config().ConnConfig.Copy()
	if cfg.RuntimeParams == nil {
		cfg.RuntimeParams = map[string]string{}
	}
	for k, v := range map[string]string{
		"tcp_keepalives_idle":     strconv.Itoa(int(lt.idle.Seconds())),
		"tcp_keepalives_interval": strconv.Itoa(int(lt.interval.Seconds())),
		"tcp_keepalives_count":    strconv.Itoa(lt.count),
		"tcp_user_timeout":        strconv.Itoa(int(lt.userTimeout.Milliseconds())),
	} {
		if _, set := cfg.RuntimeParams[k]; !set { // the URL's own say wins
			cfg.RuntimeParams[k] = v
		}
	}
	cfg.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: c, DeadlineDelay: lt.ping}
	}
	return pgx.ConnectConfig(ctx, cfg)
}

// lockKey is the advisory lock's 64-bit key for a leadership's name.
func lockKey(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte("soulbox/leader/" + name))
	return int64(h.Sum64())
}

type lease struct {
	name   string
	key    int64
	shared bool // held with pg_advisory_lock_shared
	timing leaseTiming

	mu   sync.Mutex // guards conn: a pgx.Conn runs one query at a time
	conn *pgx.Conn

	lost     chan struct{}
	stop     chan struct{} // closed by Release
	done     chan struct{} // closed when watch returns
	stopOnce sync.Once
}

func (l *lease) Lost() <-chan struct{} { return l.lost }

// watch pings the session until Release, or until the session is gone or
// lossAfter pings in a row failed (see leaseTiming).
func (l *lease) watch() {
	defer close(l.done)
	t := time.NewTicker(l.timing.check)
	defer t.Stop()
	failures := 0
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
		}
		l.mu.Lock()
		ctx, cancel := context.WithTimeout(context.Background(), l.timing.ping)
		_, err := l.conn.Exec(ctx, `SELECT 1`)
		cancel()
		if err == nil {
			failures = 0
		} else {
			failures++
		}
		if err != nil && (l.conn.IsClosed() || failures >= l.timing.lossAfter) {
			_ = l.conn.Close(context.Background())
			l.mu.Unlock()
			close(l.lost)
			return
		}
		l.mu.Unlock()
	}
}

// Release implements store.Lease.
func (l *lease) Release() error {
	var err error
	l.stopOnce.Do(func() {
		close(l.stop)
		<-l.done
		select {
		case <-l.lost:
			return // the session, and the lock with it, is gone already
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		l.mu.Lock()
		defer l.mu.Unlock()
		// Closing the session alone would release the lock too; unlocking
		// first says so to the server at once.
		unlock := `SELECT pg_advisory_unlock($1)`
		if l.shared {
			unlock = `SELECT pg_advisory_unlock_shared($1)`
		}
		_, uerr := l.conn.Exec(ctx, unlock, l.key)
		err = errors.Join(uerr, l.conn.Close(ctx))
		if err != nil {
			err = fmt.Errorf("release leadership %q: %w", l.name, err)
		}
	})
	return err
}
