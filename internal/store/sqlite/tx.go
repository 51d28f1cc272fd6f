package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// Group commit. Every write runs on the writer's one connection, and with
// synchronous=FULL each COMMIT waits for an fsync of the WAL, so writes one
// transaction each queue behind each other's fsyncs. The writer goroutine
// (runWriter) instead takes the writes that are waiting, runs each one's fn
// inside its own SAVEPOINT of one transaction, and commits them together:
// one fsync for the batch. A write that comes alone commits at once; a
// batch forms only from writes that queued while an earlier one ran.
const (
	// defaultMaxBatch bounds the writes in one transaction, and so the time
	// the first of them waits for the last to run before its commit.
	defaultMaxBatch = 64
	// maxBatchRun stops a batch from taking more writes once its fns have
	// run this long, whatever their number.
	maxBatchRun = 5 * time.Millisecond
)

// Write request states: the caller and the writer race to move a request
// out of queued, and whoever wins decides whether fn runs.
const (
	reqQueued int32 = iota
	reqRunning
	reqCancelled
)

// writeReq is one call of write waiting for the writer goroutine.
type writeReq struct {
	ctx   context.Context
	fn    func(tx *sql.Tx) error
	state atomic.Int32
	done  chan writeResult // buffered: the writer never waits for the caller

	// Set by the writer while the request is in a batch.
	fnErr error
}

type writeResult struct {
	err   error
	panic any // fn panicked: re-raised in the caller's goroutine
}

// errClosed is returned by writes after Close.
var errClosed = fmt.Errorf("store closed: %w", errdefs.ErrUnavailable)

// write runs fn in a transaction on the writer connection and returns once
// fn's changes are durably committed, or with fn's error, in which case
// none of them are. fn may share its transaction with other writes' fns,
// each inside its own savepoint: an error from fn undoes only fn's
// changes. If ctx ends before fn runs, write returns ctx's error and fn
// never runs; once fn has run, write waits for the commit. fn must not use
// the store's other methods: the writer has one connection, and fn holds
// it. fn may run more than once (a write whose transaction was lost to
// another write's failure is retried in the next one), so its effects
// outside tx must be plain assignments.
func (s *Store) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	req := &writeReq{ctx: ctx, fn: fn, done: make(chan writeResult, 1)}
	select {
	case s.writes <- req:
	case <-ctx.Done():
		return ctx.Err()
	case <-s.stopped:
		return errClosed
	}
	var res writeResult
	select {
	case res = <-req.done:
	case <-ctx.Done():
		if req.state.CompareAndSwap(reqQueued, reqCancelled) {
			return ctx.Err()
		}
		res = <-req.done // fn ran or is running: its outcome is the commit's
	}
	if res.panic != nil {
		panic(res.panic)
	}
	return res.err
}

// startWriter starts the writer goroutine; Close stops it.
func (s *Store) startWriter() {
	s.writes = make(chan *writeReq)
	s.stop = make(chan struct{})
	s.stopped = make(chan struct{})
	if s.maxBatch == 0 {
		s.maxBatch = defaultMaxBatch
	}
	go s.runWriter()
}

// stopWriter stops the writer goroutine after the batch it is running and
// waits for it. Writes not yet taken fail with errClosed.
func (s *Store) stopWriter() {
	if s.stop == nil {
		return
	}
	s.stopOnce.Do(func() { close(s.stop) })
	<-s.stopped
}

func (s *Store) runWriter() {
	defer close(s.stopped)
	for {
		select {
		case req := <-s.writes:
			s.runBatch(req)
		case <-s.stop:
			return
		}
	}
}

// runBatch commits first and the writes that queue behind it, up to the
// batch's bounds, and answers each of them.
func (s *Store) runBatch(first *writeReq) {
	start := time.Now()
	next := func(n int) *writeReq {
		if n == 0 {
			return first
		}
		if n >= s.maxBatch || time.Since(start) >= maxBatchRun {
			return nil
		}
		select {
		case req := <-s.writes:
			return req
		default:
			return nil
		}
	}
	var retry []*writeReq
	for {
		retry = s.commitBatch(next)
		if len(retry) == 0 {
			return
		}
		// The transaction was lost: its surviving writes run again, in a
		// batch of their own (each such round drops at least the write that
		// lost it, so this ends).
		left := retry
		next = func(n int) *writeReq {
			if n < len(left) {
				return left[n]
			}
			return nil
		}
	}
}

// commitBatch runs the fns of the requests next hands out (next(0),
// next(1), ... until nil) in one transaction and commits it. It answers
// every request except those it returns, whose fns ran in a transaction
// that another fn's failure rolled back whole: they are to run again.
func (s *Store) commitBatch(next func(n int) *writeReq) []*writeReq {
	// The transaction is the batch's, not any one caller's: a caller whose
	// ctx ends stops waiting but does not roll back the others' writes.
	ctx := context.Background()
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		err = fmt.Errorf("begin write: %w", err)
		for n := 0; ; n++ {
			req := next(n)
			if req == nil {
				return nil
			}
			if claim(req) {
				req.done <- writeResult{err: err}
			}
		}
	}
	var ran []*writeReq // fns that ran, successfully or not, in tx
	for n := 0; ; n++ {
		req := next(n)
		if req == nil {
			break
		}
		if !claim(req) {
			continue
		}
		lost, res := s.runInSavepoint(ctx, tx, req)
		if res.panic != nil || lost {
			// The transaction is gone (or, after a panic, in an unknown
			// state): this request gets its own outcome, the others that ran
			// go again in a new transaction.
			_ = tx.Rollback()
			if lost && res.err == nil {
				res.err = fmt.Errorf("write rolled back: %w", errdefs.ErrUnavailable)
			}
			req.done <- res
			retry := ran
			for m := n + 1; ; m++ { // the ones already taken but not run
				r := next(m)
				if r == nil {
					break
				}
				retry = append(retry, r)
			}
			return retry
		}
		req.fnErr = res.err
		ran = append(ran, req)
	}
	if len(ran) == 0 {
		_ = tx.Rollback()
		return nil
	}
	if err := tx.Commit(); err != nil {
		err = fmt.Errorf("commit: %w", err)
		// A failed COMMIT can leave the transaction open on the connection;
		// end it so that the next batch can begin.
		_, _ = s.w.ExecContext(ctx, "ROLLBACK")
		for _, req := range ran {
			req.done <- writeResult{err: err}
		}
		return nil
	}
	for _, req := range ran {
		req.done <- writeResult{err: req.fnErr}
	}
	return nil
}

// claim moves req from queued to running and reports whether its fn is to
// run. A request already running (one being retried) stays so. A request
// whose ctx has ended is answered with ctx's error instead.
func claim(req *writeReq) bool {
	if !req.state.CompareAndSwap(reqQueued, reqRunning) && req.state.Load() != reqRunning {
		return false // its caller gave up waiting: nobody to answer
	}
	if err := req.ctx.Err(); err != nil {
		req.done <- writeResult{err: err}
		return false
	}
	return true
}

// runInSavepoint runs req's fn inside a savepoint of tx, releasing the
// savepoint if fn succeeds and rolling back to it if fn fails. lost reports
// that tx itself is gone: SQLite rolls back a whole transaction on some
// errors (an interrupted INSERT, UPDATE or DELETE, which the driver causes
// when a statement's ctx ends; a full disk; an I/O error), after which the
// savepoint no longer exists.
func (s *Store) runInSavepoint(ctx context.Context, tx *sql.Tx, req *writeReq) (lost bool, res writeResult) {
	if _, err := s.txExec(ctx, tx, sqlSavepoint); err != nil {
		return true, writeResult{err: fmt.Errorf("begin write: %w", err)}
	}
	res = callFn(req.fn, tx)
	if res.panic != nil {
		return false, res
	}
	if res.err != nil {
		if _, err := s.txExec(ctx, tx, sqlRollbackTo); err != nil {
			return true, res
		}
	}
	if _, err := s.txExec(ctx, tx, sqlRelease); err != nil {
		return true, res
	}
	return false, res
}

// callFn calls fn, turning a panic into a result for the caller's goroutine
// to re-raise, so that one write's bug does not take down the writer.
func callFn(fn func(tx *sql.Tx) error, tx *sql.Tx) (res writeResult) {
	defer func() {
		if p := recover(); p != nil {
			res = writeResult{panic: p}
		}
	}()
	return writeResult{err: fn(tx)}
}

func notFound(id string) error {
	return fmt.Errorf("sandbox %q: %w", id, errdefs.ErrNotFound)
}
