package proxy

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/soulbox/soulbox/internal/logx"
)

// routeError is why a request cannot be forwarded: the status and message
// the client gets, and for server faults the cause, which only the log
// sees.
type routeError struct {
	status int
	msg    string
	cause  error
}

func (e *routeError) Error() string { return e.msg }

func errorf(status int, format string, args ...any) *routeError {
	return &routeError{status: status, msg: fmt.Sprintf(format, args...)}
}

// internalError hides cause from the client and has fail log it.
func internalError(cause error) *routeError {
	return &routeError{
		status: http.StatusInternalServerError,
		msg:    "internal error: the server log has the details",
		cause:  cause,
	}
}

// fail answers r with err, logging server faults.
func (p *Proxy) fail(w http.ResponseWriter, r *http.Request, err error) {
	var re *routeError
	if !errors.As(err, &re) {
		re = internalError(err)
	}
	if re.cause != nil {
		p.log.Error("proxy", "method", r.Method, "path", r.URL.Path, logx.Err(re.cause))
	}
	writeError(w, re.status, re.msg)
}

// writeError writes the {code, message} body every SoulBox error has.
func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}{status, msg})
}
