// Package sqlite is the store.Store backend for a single server: one SQLite
// database file, through the pure-Go modernc.org/sqlite driver.
//
// Connections are split in two pools over the same file. Every write goes
// through a pool of exactly one connection, so writers in this process
// queue in Go (in order, honouring their contexts) instead of racing for
// SQLite's write lock, and none of them sees SQLITE_BUSY because of
// another. The writer begins its transactions IMMEDIATE, so a
// compare-and-set reads the state it changes under the write lock. Reads
// go through a pool of several read-only connections that, in WAL mode,
// run alongside the writer and each other and see every committed write.
//
// A benchmark of concurrent writes measured the choice against a writer
// pool of eight connections: throughput is about the same (the file takes one
// writer at a time either way), but with eight connections the losers wait
// in SQLite's busy handler, which polls with growing sleeps, so the slowest
// writes took over two seconds against under a hundred milliseconds in the
// queue, and with DEFERRED transactions some 4% of writes failed outright
// with SQLITE_BUSY.
//
// The writer connection is driven by one goroutine that commits writes in
// groups (tx.go): the writes queued while a commit's fsync runs share the
// next transaction, each in its own savepoint, and one fsync. A write alone
// still commits at once.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"

	driver "modernc.org/sqlite" // registers the "sqlite" driver
	sqlite3 "modernc.org/sqlite/lib"
)

var _ store.Store = (*Store)(nil)

// busyTimeout is how long a connection waits for a lock held by another
// process (a second server by mistake, a backup, the sqlite3 shell) before
// giving up. Within this process the writer pool already serializes writers.
const busyTimeout = 5 * time.Second

// Store is a store.Store in one SQLite file. Create it with Open.
type Store struct {
	w   *sql.DB // one connection: every write transaction
	r   *sql.DB // read-only connections: every plain read
	now func() time.Time

	stmts readStmts // the reads' prepared statements (stmts.go)
	// wstmts are the writer's prepared statements (wstmts.go), set before
	// the writer starts and only read after.
	wstmts map[string]*sql.Stmt

	// The writer goroutine (tx.go) and its queue of writes.
	writes   chan *writeReq
	maxBatch int // writes per transaction at most; 1 turns group commit off
	stop     chan struct{}
	stopOnce sync.Once
	stopped  chan struct{}
}

// Open opens the database at path, creating it (mode 0600, in a directory
// created 0700 if missing) and bringing its schema up to date. A database
// whose schema is newer than this binary's is refused with
// ErrFailedPrecondition.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" {
		return nil, fmt.Errorf("open store: empty path: %w", errdefs.ErrInvalidArgument)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	if err := createFile(abs); err != nil {
		return nil, err
	}
	s := &Store{now: time.Now}
	if err := s.open(ctx, abs); err != nil {
		return nil, errors.Join(fmt.Errorf("open store %s: %w", abs, err), s.Close())
	}
	return s, nil
}

// createFile creates the database file before SQLite does: SQLite would
// create it 0644, and it holds the sandboxes' access tokens. SQLite gives
// the -wal and -shm files the database file's mode.
func createFile(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create store directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("create store file: %w", err)
	}
	return f.Close()
}

func (s *Store) open(ctx context.Context, path string) error {
	var err error
	if s.w, err = sql.Open("sqlite", dsn(path, false)); err != nil {
		return err
	}
	// One connection, kept forever: a second one could only wait for the
	// first's write lock, with busy_timeout's sleep-and-poll instead of
	// database/sql's queue.
	s.w.SetMaxOpenConns(1)
	s.w.SetMaxIdleConns(1)
	s.w.SetConnMaxLifetime(0)
	s.w.SetConnMaxIdleTime(0)

	if err := setWAL(ctx, s.w); err != nil {
		return err
	}
	if err := migrate(ctx, s.w, s.now); err != nil {
		return err
	}
	s.prepareWrites(ctx)
	s.startWriter()

	if s.r, err = sql.Open("sqlite", dsn(path, true)); err != nil {
		return err
	}
	n := max(4, runtime.GOMAXPROCS(0))
	s.r.SetMaxOpenConns(n)
	s.r.SetMaxIdleConns(n)
	return s.r.PingContext(ctx)
}

// setWAL puts the database in WAL mode, which lets readers run while the
// writer writes. The mode is a property of the file, so this holds for
// every later connection. Switching needs the file to itself, and when
// another process opens it at the same moment SQLite reports SQLITE_BUSY at
// once rather than waiting (both hold a read lock and want to upgrade), so
// the switch is retried for as long as busy_timeout would have waited.
func setWAL(ctx context.Context, db *sql.DB) error {
	deadline := time.Now().Add(busyTimeout)
	for {
		var mode string
		err := db.QueryRowContext(ctx, "PRAGMA journal_mode = WAL").Scan(&mode)
		var serr *driver.Error
		if errors.As(err, &serr) && serr.Code()&0xff == sqlite3.SQLITE_BUSY && time.Now().Before(deadline) {
			select {
			case <-ctx.Done():
				return fmt.Errorf("set WAL mode: %w", ctx.Err())
			case <-time.After(10 * time.Millisecond):
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("set WAL mode: %w", err)
		}
		if !strings.EqualFold(mode, "wal") {
			return fmt.Errorf("set WAL mode: journal mode is %q", mode)
		}
		return nil
	}
}

// dsn is the data source name of a connection to path. The pragmas are
// per connection, so they go in the DSN, which the driver applies to each
// new connection of the pool.
func dsn(path string, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	q.Add("_pragma", "foreign_keys(1)")
	// FULL: in WAL mode, NORMAL syncs only at checkpoints, so a power loss
	// can undo commits that were acknowledged. A state change is acknowledged
	// to clients and acted on (a sandbox killed, a timeout set), so it must
	// be on disk before the commit returns; FULL syncs the WAL at every commit.
	q.Add("_pragma", "synchronous(FULL)")
	if readOnly {
		// A write on a read connection would bypass the writer's queue and
		// could hit SQLITE_BUSY; make it an error instead.
		q.Add("_pragma", "query_only(1)")
	} else {
		// Take the write lock at BEGIN, so a transaction never has to upgrade
		// a read lock (which fails at once, without waiting, if another
		// process wrote in between).
		q.Set("_txlock", "immediate")
	}
	// A file: URI so that any byte of the path survives; the driver reads
	// its own parameters from the query and SQLite ignores them.
	r := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23")
	return "file:" + r.Replace(path) + "?" + q.Encode()
}

// Close closes both pools. Calls after Close fail.
func (s *Store) Close() error {
	s.stopWriter()
	s.closeWrites()
	s.closeStmts()
	var errs []error
	// Readers first, so that the writer is the last connection: it folds
	// the WAL back into the database file on its way out.
	for _, db := range []*sql.DB{s.r, s.w} {
		if db != nil {
			errs = append(errs, db.Close())
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	return nil
}
