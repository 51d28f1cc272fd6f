package files

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"syscall"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// httpError is a failed request: the status and the message the client
// sees (what to fix), apart from the cause, which is logged.
type httpError struct {
	status int
	msg    string
	cause  error
}

func (e *httpError) Error() string {
	if e.cause == nil {
		return e.msg
	}
	return e.msg + ": " + e.cause.Error()
}

func (e *httpError) Unwrap() error { return e.cause }

// errorf returns an httpError with a formatted client message.
func errorf(status int, cause error, format string, args ...any) *httpError {
	return &httpError{status: status, msg: fmt.Sprintf(format, args...), cause: cause}
}

// serverError is a fault of the agent, not of the request: the client
// sees what failed and why, since it is the sandbox's owner.
func serverError(cause error, format string, args ...any) *httpError {
	msg := fmt.Sprintf(format, args...)
	return &httpError{status: http.StatusInternalServerError, msg: msg + ": " + cause.Error(), cause: cause}
}

// fsError maps a file system error on path to the status envd gives it.
// what says what the agent was doing ("read", "create directory").
func fsError(err error, what, path string) *httpError {
	var he *httpError
	switch {
	case errors.As(err, &he):
		return he
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT), errors.Is(err, syscall.EFBIG):
		return errorf(http.StatusInsufficientStorage, err, "not enough disk space in the sandbox to %s %s", what, path)
	case errors.Is(err, syscall.ENOENT):
		return errorf(http.StatusNotFound, err, "path %s does not exist", path)
	case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		return errorf(http.StatusForbidden, err, "permission denied to %s %s", what, path)
	case errors.Is(err, syscall.ENOTDIR):
		return errorf(http.StatusBadRequest, err, "a component of %s is a file, not a directory", path)
	case errors.Is(err, syscall.EISDIR):
		return errorf(http.StatusBadRequest, err, "path %s is a directory, not a file", path)
	case errors.Is(err, syscall.ENAMETOOLONG), errors.Is(err, syscall.ELOOP):
		return errorf(http.StatusBadRequest, err, "cannot %s %s", what, path)
	case errors.Is(err, syscall.EROFS):
		return errorf(http.StatusBadRequest, err, "cannot %s %s: read-only file system", what, path)
	default:
		return serverError(err, "%s %s", what, path)
	}
}

// userError maps a failed user lookup. envd answers an unknown user with
// 401, and the SDKs report it as an authentication error: so do we.
func userError(name string, err error) *httpError {
	switch {
	case errdefs.IsNotFound(err):
		return errorf(http.StatusUnauthorized, err, "user %q does not exist in the sandbox: pass an existing user name as username", name)
	case errdefs.IsInvalidArgument(err):
		return errorf(http.StatusBadRequest, err, "no user: pass username or set a default user with /init")
	default:
		return serverError(err, "look up user %q", name)
	}
}

// fail writes err as envd's JSON error body {"code", "message"}.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	var he *httpError
	if !errors.As(err, &he) {
		he = serverError(err, "%s /files", r.Method)
	}
	level := slog.LevelDebug
	if he.status >= 500 {
		level = slog.LevelError
	}
	h.log.Log(r.Context(), level, "files request failed",
		slog.String("method", r.Method), slog.String("path", r.URL.Query().Get("path")),
		slog.Int("status", he.status), slog.Any("error", he))
	writeJSON(w, he.status, map[string]any{"code": he.status, "message": he.msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	// A download that fails before its first byte may have set these.
	h.Del("Content-Disposition")
	h.Del("Content-Encoding")
	h.Del("Content-Length")
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
