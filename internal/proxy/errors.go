package proxy

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/soulbox/soulbox/internal/httperr"
	"github.com/soulbox/soulbox/internal/logx"
)

// routeError is why a request cannot be forwarded: the status and message
// the client gets, and for server faults the cause, which only the log
// sees.
type routeError struct {
	status int
	msg    string
	cause  error
	body   any // answered instead of {code, message} when set
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
	if re.body != nil {
		writeJSON(w, re.status, re.body)
		return
	}
	httperr.WriteBody(w, re.status, re.msg)
}

// gatewayBody is the body of E2B's edge for a sandbox it cannot reach,
// field for field: the SDKs tell a dead sandbox from a network blip by
// it.
type gatewayBody struct {
	Message   string `json:"message"`
	SandboxID string `json:"sandboxId"`
	Port      int    `json:"port,omitempty"`
	Code      int    `json:"code"`
}

// sandboxNotFound is E2B's 502 for a sandbox that does not exist or ended.
func sandboxNotFound(id string) *routeError {
	const msg = "The sandbox was not found"
	return &routeError{status: http.StatusBadGateway, msg: msg,
		body: gatewayBody{Message: msg, SandboxID: id, Code: http.StatusBadGateway}}
}

// portClosed is E2B's 502 for a running sandbox with nothing listening on
// the port.
func portClosed(id string, port int) *routeError {
	const msg = "The sandbox is running but port is not open"
	return &routeError{status: http.StatusBadGateway, msg: msg,
		body: gatewayBody{Message: msg, SandboxID: id, Port: port, Code: http.StatusBadGateway}}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
