package template

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"github.com/soulbox/soulbox/internal/logx"
)

// lockPollInterval is how often a waiter retries another process's flock.
// Polling (instead of a blocking flock) keeps the wait cancellable.
const lockPollInterval = 200 * time.Millisecond

// lock serialises checking and building template name: first among callers
// in this process, then, through an flock on <dir>/<name>.lock, among
// processes (a server and a test binary may share a cache). The returned
// function releases both.
func (s *Store) lock(ctx context.Context, name string) (unlock func(), err error) {
	sem := s.semaphore(name)
	select {
	case sem <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("wait for template %q: %w", name, ctx.Err())
	}
	release := func() { <-sem }

	if err := mkdirPublic(s.dir); err != nil {
		release()
		return nil, err
	}
	path := filepath.Join(s.dir, name+".lock")
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CREAT|unix.O_CLOEXEC, 0o644)
	if err != nil {
		release()
		return nil, fmt.Errorf("open template lock %s: %w", path, err)
	}
	waited := false
	for {
		err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, unix.EWOULDBLOCK) && !errors.Is(err, unix.EINTR) {
			unix.Close(fd)
			release()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if !waited {
			s.log.InfoContext(ctx, "waiting for another process building the template", logx.Template(name))
			waited = true
		}
		select {
		case <-time.After(lockPollInterval):
		case <-ctx.Done():
			unix.Close(fd)
			release()
			return nil, fmt.Errorf("wait for template %q lock: %w", name, ctx.Err())
		}
	}
	return func() {
		// Closing the only descriptor drops the flock.
		unix.Close(fd)
		release()
	}, nil
}

// semaphore returns the in-process lock of template name.
func (s *Store) semaphore(name string) chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	sem, ok := s.sems[name]
	if !ok {
		sem = make(chan struct{}, 1)
		s.sems[name] = sem
	}
	return sem
}
