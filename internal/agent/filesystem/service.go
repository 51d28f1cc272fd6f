// Package filesystem is envd's Filesystem service, served by the agent so
// that the E2B SDKs' sandbox.files calls (getInfo, exists, list, makeDir,
// rename, remove, watchDir) work against a SoulBox sandbox.
//
// The agent runs as root and acts for the request's user (the Basic auth
// user name, else the default user): relative paths are resolved against
// that user's home, and the directories it creates are given to that user.
// It refuses nothing root could do, as E2B's envd does: the sandbox is the
// security boundary, not the user.
//
// Names on disk are bytes; protobuf strings must be valid UTF-8. Every path
// and name the service returns has its invalid bytes replaced by U+FFFD
// (strings.ToValidUTF8), so such entries are listed and watched, but cannot
// be addressed by the name returned: a request cannot carry them either.
package filesystem

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"connectrpc.com/connect"

	"github.com/soulbox/soulbox/api/envd/filesystem/filesystemconnect"
	"github.com/soulbox/soulbox/internal/agent/state"
	"github.com/soulbox/soulbox/internal/agent/users"
	"github.com/soulbox/soulbox/internal/envd"
	"github.com/soulbox/soulbox/internal/errdefs"
)

var _ filesystemconnect.FilesystemHandler = (*Service)(nil)

// Service is envd's Filesystem service.
type Service struct {
	state *state.State
	names *nameCache
	log   *slog.Logger
	// Keepalive is how often an idle WatchDir stream gets a keepalive
	// event, so that proxies between the client and the agent keep it open.
	Keepalive time.Duration

	mu       sync.Mutex
	watchers map[string]*pollWatcher // by watcher id
	closed   bool
}

// NewService returns the service; mount it with Handler. files are the
// sandbox's passwd and group files, through which owners are named.
func NewService(st *state.State, files users.Files, log *slog.Logger) *Service {
	return &Service{
		state:     st,
		names:     &nameCache{files: files},
		log:       log,
		Keepalive: 30 * time.Second,
		watchers:  map[string]*pollWatcher{},
	}
}

// Handler returns the path prefix and handler to mount. Messages under
// envd.CompressMinBytes are sent uncompressed; opts come after and may
// change that.
func (s *Service) Handler(opts ...connect.HandlerOption) (string, http.Handler) {
	opts = append([]connect.HandlerOption{connect.WithCompressMinBytes(envd.CompressMinBytes)}, opts...)
	return filesystemconnect.NewFilesystemHandler(s, opts...)
}

// Close stops every watcher made by CreateWatcher; later CreateWatcher
// calls fail. WatchDir streams end with their requests.
func (s *Service) Close() error {
	s.mu.Lock()
	ws := s.watchers
	s.watchers = map[string]*pollWatcher{}
	s.closed = true
	s.mu.Unlock()
	for _, w := range ws {
		w.close()
	}
	return nil
}

// user resolves the user a request acts for.
func (s *Service) user(h http.Header) (users.User, error) {
	u, err := s.state.RequestUser(h)
	switch {
	case err == nil:
		return u, nil
	case errors.Is(err, errdefs.ErrNotFound), errors.Is(err, errdefs.ErrInvalidArgument):
		// As the Process service does; E2B's envd answers unauthenticated.
		return users.User{}, connect.NewError(connect.CodeInvalidArgument, err)
	default:
		return users.User{}, connect.NewError(connect.CodeInternal, err)
	}
}

// connectError maps an error category to its Connect code; errors
// already carrying a code keep it. The message is the error's own.
func connectError(err error) error {
	var ce *connect.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ce):
		return err
	case errors.Is(err, errdefs.ErrNotFound):
		return connect.NewError(connect.CodeNotFound, err)
	case errors.Is(err, errdefs.ErrAlreadyExists):
		return connect.NewError(connect.CodeAlreadyExists, err)
	case errors.Is(err, errdefs.ErrInvalidArgument):
		return connect.NewError(connect.CodeInvalidArgument, err)
	case errors.Is(err, errdefs.ErrFailedPrecondition):
		return connect.NewError(connect.CodeFailedPrecondition, err)
	case errors.Is(err, errdefs.ErrResourceExhausted):
		return connect.NewError(connect.CodeResourceExhausted, err)
	case errors.Is(err, errdefs.ErrPermissionDenied):
		return connect.NewError(connect.CodePermissionDenied, err)
	default:
		return connect.NewError(connect.CodeInternal, err)
	}
}

// keepaliveInterval is the client's Keepalive-Ping-Interval (seconds, as
// E2B's SDKs send it: 50 for watchDir), else the default.
func keepaliveInterval(h http.Header, def time.Duration) time.Duration {
	if n, err := strconv.Atoi(h.Get("Keepalive-Ping-Interval")); err == nil && n > 0 && n <= 3600 {
		return time.Duration(n) * time.Second
	}
	return def
}
