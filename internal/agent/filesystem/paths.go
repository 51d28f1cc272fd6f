package filesystem

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/soulbox/soulbox/internal/agent/users"
	"github.com/soulbox/soulbox/internal/errdefs"
)

// resolvePath makes a request's path absolute and clean. As in E2B's
// envd, "~" and "~/..." are the user's home and relative paths are taken
// from the home (not from the default working directory). An empty path
// is refused: E2B would take the home, which makes Remove("") delete it.
func resolvePath(p string, u users.User) (string, error) {
	switch {
	case p == "":
		return "", fmt.Errorf("path is empty: %w", errdefs.ErrInvalidArgument)
	case strings.ContainsRune(p, 0):
		return "", fmt.Errorf("path %q contains a NUL byte: %w", p, errdefs.ErrInvalidArgument)
	case p == "~" || strings.HasPrefix(p, "~/"):
		p = filepath.Join(u.Home, p[1:])
	case strings.HasPrefix(p, "~"):
		return "", fmt.Errorf("path %q: only the requesting user's home (~) can be expanded: %w", p, errdefs.ErrInvalidArgument)
	case !filepath.IsAbs(p):
		p = filepath.Join(u.Home, p)
	}
	// "/" first: a user whose passwd entry has an empty or relative home
	// still gets an absolute path, never one taken from the agent's own
	// working directory.
	return filepath.Clean("/" + p), nil
}

// validUTF8 is s with each run of bytes that are not UTF-8 replaced by
// U+FFFD: protobuf strings must be valid UTF-8, names on disk need not be.
func validUTF8(s string) string {
	return strings.ToValidUTF8(s, "\uFFFD")
}

// categorized is an error of the file system put in the category a client
// acts on. Its message is the cause's, which names the path and the reason.
type categorized struct {
	err, cat error
}

func (e categorized) Error() string   { return e.err.Error() }
func (e categorized) Unwrap() []error { return []error{e.err, e.cat} }

// fsError puts an error of the file system in its category.
func fsError(err error) error {
	if err == nil {
		return nil
	}
	var cat error
	var errno syscall.Errno
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR):
		// ENOTDIR: a component of the path is a file, so the path does not
		// exist either.
		cat = errdefs.ErrNotFound
	case errors.Is(err, fs.ErrExist): // EEXIST, ENOTEMPTY
		cat = errdefs.ErrAlreadyExists
	case !errors.As(err, &errno):
		return err
	case errno == syscall.ELOOP, errno == syscall.ENAMETOOLONG, errno == syscall.EISDIR, errno == syscall.EINVAL:
		cat = errdefs.ErrInvalidArgument
	case errno == syscall.EXDEV, errno == syscall.EROFS, errno == syscall.EBUSY, errno == syscall.ETXTBSY:
		cat = errdefs.ErrFailedPrecondition
	case errno == syscall.ENOSPC, errno == syscall.EDQUOT, errno == syscall.EMFILE, errno == syscall.ENFILE:
		cat = errdefs.ErrResourceExhausted
	case errno == syscall.EACCES, errno == syscall.EPERM:
		cat = errdefs.ErrPermissionDenied
	default:
		return err
	}
	return categorized{err: err, cat: cat}
}

// invalid is an invalid-argument error saying what is wrong.
func invalid(format string, args ...any) error {
	return categorized{err: fmt.Errorf(format, args...), cat: errdefs.ErrInvalidArgument}
}
