package catalog

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/soulbox/soulbox/internal/builder"
	"github.com/soulbox/soulbox/internal/logx"
	"github.com/soulbox/soulbox/internal/store"
)

// logFlushEvery is how often a build's log lines reach the store: a
// chatty step (apt-get, pip) writes thousands of lines, and one durable
// transaction per line would slow the build down to the disk's sync rate.
const logFlushEvery = 100 * time.Millisecond

// buildLog collects a build's log lines and writes them to the store in
// batches.
type buildLog struct {
	store   store.Store
	buildID string
	log     *slog.Logger

	mu      sync.Mutex
	pending []store.BuildLogEntry
	stop    chan struct{}
	done    chan struct{}
}

func newBuildLog(st store.Store, buildID string, log *slog.Logger) *buildLog {
	l := &buildLog{store: st, buildID: buildID, log: log, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(l.done)
		t := time.NewTicker(logFlushEvery)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				l.flush()
			case <-l.stop:
				l.flush()
				return
			}
		}
	}()
	return l
}

// add records one line; it is the builder's Log. The line is made
// printable first: a step's output is any bytes, and one line a store
// refuses would lose its whole batch.
func (l *buildLog) add(level, step, msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pending = append(l.pending, store.BuildLogEntry{Time: time.Now(), Level: level, Step: builder.Printable(step), Message: builder.Printable(msg)})
}

func (l *buildLog) flush() {
	l.mu.Lock()
	batch := l.pending
	l.pending = nil
	l.mu.Unlock()
	if len(batch) == 0 {
		return
	}
	if err := l.store.AppendBuildLogs(context.Background(), l.buildID, batch); err != nil {
		l.log.Warn("build log", logx.Err(err))
	}
}

// close writes what is left; the log is complete when it returns.
func (l *buildLog) close() {
	close(l.stop)
	<-l.done
}
