package files

import (
	"net/http"
	"path/filepath"
	"strings"

	"github.com/soulbox/soulbox/internal/agent/users"
)

// resolve makes p absolute the way envd does: "~" and "~/..." are the
// user's home, a relative path is relative to the home, and the result is
// cleaned. "~other" is refused: only the requesting user's home expands.
func resolve(u users.User, p string) (string, *httpError) {
	if p == "" {
		return "", errorf(http.StatusBadRequest, nil, "path is required: pass the file's path as the path query parameter")
	}
	if strings.IndexByte(p, 0) >= 0 {
		return "", errorf(http.StatusBadRequest, nil, "path %q contains a NUL byte", p)
	}
	if p == "~" || strings.HasPrefix(p, "~/") {
		p = filepath.Join(u.Home, p[1:])
	} else if strings.HasPrefix(p, "~") {
		return "", errorf(http.StatusBadRequest, nil, "path %q: only ~ (the home of user %q) can be expanded", p, u.Name)
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(u.Home, p)
	}
	// "/" first: a home that is not absolute still gives an absolute path.
	return filepath.Clean("/" + p), nil
}
