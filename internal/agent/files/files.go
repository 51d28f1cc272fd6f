// Package files serves the agent's /files route: E2B envd's file download
// (GET) and upload (POST). A request names its file with the path query
// parameter (relative paths are relative to the user's home) and its user
// with username; once an access token is set, it carries the token in
// X-Access-Token or a URL signature made from it.
//
// Downloads are read with the user's file permissions (see openAs);
// uploads are written as root, like envd, and given to the user. Both
// stream: neither holds a whole file in memory.
//
// Errors are envd's JSON {"code", "message"}: 400 for a request to fix,
// 401 for a missing or wrong token or signature and, as in envd, for a
// user the sandbox does not have, 403 for a file the user may not read,
// 404 for a missing file, 507 for a full disk, 500 for the agent's faults.
package files

import (
	"log/slog"
	"net/http"

	"github.com/soulbox/soulbox/internal/agent/state"
	"github.com/soulbox/soulbox/internal/agent/users"
)

// TempPrefix starts the names of the temporary files an upload writes
// before it renames them into place. Watchers leave them out: to a client,
// an upload is the file appearing under its own name.
const TempPrefix = ".soulbox-upload-"

// Handler serves GET, HEAD and POST /files.
type Handler struct {
	st  *state.State
	log *slog.Logger
}

var _ http.Handler = (*Handler)(nil)

// New returns the /files handler. It checks the access token or URL
// signature itself: mount it where the agent's token check lets /files
// through.
func New(st *state.State, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Handler{st: st, log: log}
}

// ServeHTTP dispatches on the method.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		h.download(w, r)
	case http.MethodPost:
		h.upload(w, r)
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		h.fail(w, r, errorf(http.StatusMethodNotAllowed, nil, "method %s is not allowed on /files: use GET to download, POST to upload", r.Method))
	}
}

// user resolves the user a request acts as: the username query parameter,
// else the Basic authorization user, else the agent's default user.
func (h *Handler) user(r *http.Request) (users.User, error) {
	name := r.URL.Query().Get("username")
	if name == "" {
		name = state.BasicUser(r.Header)
	}
	if name == "" {
		name = h.st.DefaultUserName()
	}
	u, err := h.st.User(name)
	if err != nil {
		return users.User{}, userError(name, err)
	}
	return u, nil
}

// Entry describes a written file in the upload response, as envd's
// EntryInfo.
type Entry struct {
	Path     string            `json:"path"`
	Name     string            `json:"name"`
	Type     string            `json:"type"`
	Metadata map[string]string `json:"metadata,omitempty"`
}
