package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"testing/synctest"

	sqlitedrv "modernc.org/sqlite"
)

// cancelInStatement holds the cancel function that the SQL function
// test_cancel() calls, so that a test can end a write's ctx while one of
// its statements runs, as a client hanging up mid-request does.
var cancelInStatement struct {
	sync.Mutex
	cancel context.CancelFunc
}

func init() {
	sqlitedrv.MustRegisterScalarFunction("test_cancel", 0, func(*sqlitedrv.FunctionContext, []driver.Value) (driver.Value, error) {
		cancelInStatement.Lock()
		if c := cancelInStatement.cancel; c != nil {
			c()
		}
		cancelInStatement.Unlock()
		return int64(1), nil
	})
}

// openTable opens a store with a table t of its own, for writes that test
// the write path rather than the schema.
func openTable(t *testing.T) *Store {
	t.Helper()
	s := openAt(t, filepath.Join(t.TempDir(), "soulbox.db"))
	t.Cleanup(func() { s.Close() })
	if _, err := s.w.Exec(`CREATE TABLE t (id TEXT PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	return s
}

func insert(ctx context.Context, id string) func(tx *sql.Tx) error {
	return func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO t (id) VALUES (?)`, id)
		return err
	}
}

// rows lists t's ids as a reader sees them: what is committed.
func rows(t *testing.T, s *Store) map[string]bool {
	t.Helper()
	rs, err := s.r.Query(`SELECT id FROM t`)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	got := map[string]bool{}
	for rs.Next() {
		var id string
		if err := rs.Scan(&id); err != nil {
			t.Fatal(err)
		}
		got[id] = true
	}
	if err := rs.Err(); err != nil {
		t.Fatal(err)
	}
	return got
}

// holdWriter starts a write that inserts id "first" and then blocks the
// writer until release is called, so that the writes started meanwhile
// queue and form one batch behind it. The returned channel has its result.
func holdWriter(s *Store) (release func(), result <-chan error) {
	hold := make(chan struct{})
	res := make(chan error, 1)
	go func() {
		res <- s.write(context.Background(), func(tx *sql.Tx) error {
			if err := insert(context.Background(), "first")(tx); err != nil {
				return err
			}
			<-hold
			return nil
		})
	}()
	return sync.OnceFunc(func() { close(hold) }), res
}

// inFirstsTx reports, from inside a write, that the write shares its
// transaction with holdWriter's: "first" is visible in tx but not yet
// committed.
func inFirstsTx(ctx context.Context, s *Store, tx *sql.Tx) (bool, error) {
	var inTx, committed int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM t WHERE id = 'first'`).Scan(&inTx); err != nil {
		return false, err
	}
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM t WHERE id = 'first'`).Scan(&committed); err != nil {
		return false, err
	}
	return inTx == 1 && committed == 0, nil
}

// A write that fails inside a batch undoes only its own changes and gets
// its own error; the writes around it commit, in the same transaction.
func TestGroupCommitFailingWriteIsolated(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := openTable(t)
		release, first := holdWriter(s)
		synctest.Wait() // the writer runs "first" and waits

		errBad := errors.New("bad request")
		const n = 8
		errs := make([]error, n)
		batched := make([]bool, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				ctx := context.Background()
				errs[i] = s.write(ctx, func(tx *sql.Tx) error {
					var err error
					if batched[i], err = inFirstsTx(ctx, s, tx); err != nil {
						return err
					}
					if err := insert(ctx, fmt.Sprint("w", i))(tx); err != nil {
						return err
					}
					switch i {
					case 3: // changes something, then fails
						if err := insert(ctx, "w3-more")(tx); err != nil {
							return err
						}
						return errBad
					case 5: // a statement fails: a duplicate key
						return insert(ctx, "first")(tx)
					}
					return nil
				})
			})
		}
		synctest.Wait() // all n are queued behind "first"
		release()
		wg.Wait()
		if err := <-first; err != nil {
			t.Fatalf("first write: %v", err)
		}

		got := rows(t, s)
		for i := range n {
			id := fmt.Sprint("w", i)
			switch i {
			case 3:
				if !errors.Is(errs[i], errBad) {
					t.Errorf("failing write: err = %v, want its own error", errs[i])
				}
				if got[id] || got["w3-more"] {
					t.Errorf("failing write's changes were committed: %v", got)
				}
			case 5:
				if errs[i] == nil || got[id] {
					t.Errorf("write with a failing statement: err = %v, its row committed = %v", errs[i], got[id])
				}
			default:
				if errs[i] != nil || !got[id] {
					t.Errorf("write %d beside failing ones: err = %v, committed = %v", i, errs[i], got[id])
				}
			}
			if !batched[i] {
				t.Errorf("write %d did not run in the batch of the write it queued behind", i)
			}
		}
		if !got["first"] {
			t.Error("first write not committed")
		}
	})
}

// A caller whose ctx ends while its write waits in the queue gets ctx's
// error, and its fn never runs.
func TestWriteCancelledBeforeItRuns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := openTable(t)
		release, first := holdWriter(s)
		synctest.Wait()

		ctx, cancel := context.WithCancel(context.Background())
		ran := false
		res := make(chan error, 1)
		go func() {
			res <- s.write(ctx, func(tx *sql.Tx) error {
				ran = true
				return insert(ctx, "cancelled")(tx)
			})
		}()
		synctest.Wait() // queued behind "first"
		cancel()
		if err := <-res; !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled write: err = %v, want context.Canceled", err)
		}
		release()
		if err := <-first; err != nil {
			t.Fatal(err)
		}
		// A write after it goes through the same writer: once it returns,
		// the cancelled one's fn would have run if it ever were to.
		if err := s.write(context.Background(), insert(context.Background(), "after")); err != nil {
			t.Fatal(err)
		}
		if ran {
			t.Error("the fn of a write cancelled before it ran was run")
		}
		if got := rows(t, s); got["cancelled"] || !got["first"] || !got["after"] {
			t.Errorf("rows = %v, want first and after only", got)
		}
	})
}

// A caller whose ctx ends after its fn ran waits for the commit, and the
// write is then durable: it is acknowledged as done, not as cancelled.
func TestWriteCancelledAfterItRan(t *testing.T) {
	s := openTable(t)
	ctx, cancel := context.WithCancel(context.Background())
	err := s.write(ctx, func(tx *sql.Tx) error {
		if err := insert(ctx, "mine")(tx); err != nil {
			return err
		}
		cancel()
		return nil
	})
	if err != nil {
		t.Fatalf("write whose ctx ended after its fn ran: %v", err)
	}
	if !rows(t, s)["mine"] {
		t.Error("acknowledged write not committed")
	}
}

// A ctx that ends in the middle of a write's statement makes SQLite roll
// back the whole transaction. The writes that shared it are not lost: they
// run again and commit, and only the cancelled one fails.
func TestWriteCancelledMidStatementKeepsBatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := openTable(t)
		release, first := holdWriter(s)
		synctest.Wait()

		ctx, cancel := context.WithCancel(context.Background())
		cancelInStatement.Lock()
		cancelInStatement.cancel = cancel
		cancelInStatement.Unlock()
		defer func() {
			cancelInStatement.Lock()
			cancelInStatement.cancel = nil
			cancelInStatement.Unlock()
		}()

		res := make(chan error, 3)
		go func() {
			res <- s.write(ctx, func(tx *sql.Tx) error {
				// Many rows, and the ctx ends at the first of them.
				_, err := tx.ExecContext(ctx, `INSERT INTO t (id)
					WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000000)
					SELECT 'many' || i FROM n WHERE test_cancel()`)
				return err
			})
		}()
		synctest.Wait()
		after := make(chan error, 1)
		go func() { after <- s.write(context.Background(), insert(context.Background(), "after")) }()
		synctest.Wait()
		release()

		if err := <-first; err != nil {
			t.Errorf("write before the cancelled one in its batch: %v", err)
		}
		if err := <-after; err != nil {
			t.Errorf("write after the cancelled one in its batch: %v", err)
		}
		if err := <-res; err == nil {
			t.Error("write cancelled mid-statement reported success")
		}
		got := rows(t, s)
		if !got["first"] || !got["after"] {
			t.Errorf("acknowledged writes lost: first %v, after %v", got["first"], got["after"])
		}
		if len(got) != 2 {
			t.Errorf("%d rows committed, want 2 (the cancelled write's rows are not)", len(got))
		}
	})
}

// A panic in fn reaches its caller, and the writer keeps serving.
func TestWritePanicReachesCaller(t *testing.T) {
	s := openTable(t)
	func() {
		defer func() {
			if p := recover(); p != "boom" {
				t.Errorf("recovered %v, want the fn's panic", p)
			}
		}()
		_ = s.write(context.Background(), func(tx *sql.Tx) error {
			if err := insert(context.Background(), "panicked")(tx); err != nil {
				return err
			}
			panic("boom")
		})
	}()
	if err := s.write(context.Background(), insert(context.Background(), "next")); err != nil {
		t.Fatal(err)
	}
	if got := rows(t, s); got["panicked"] || !got["next"] {
		t.Errorf("rows = %v, want next only", got)
	}
}

// Writes after Close fail instead of hanging.
func TestWriteAfterClose(t *testing.T) {
	s := openAt(t, filepath.Join(t.TempDir(), "soulbox.db"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.write(context.Background(), func(*sql.Tx) error { return nil }); err == nil {
		t.Fatal("write after Close succeeded")
	}
}
