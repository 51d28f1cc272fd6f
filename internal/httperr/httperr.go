// Package httperr is the one writer of SoulBox's HTTP error answers, the
// {"code": <status>, "message": "<what to fix>"} body E2B's SDKs parse,
// for every HTTP surface: the REST API, its authentication, the server's
// own routes and the sandbox-traffic proxy.
//
// The policy lives here once: a domain error's errdefs category gives the
// status (errdefs.HTTPStatus); a client's mistake is answered with the
// error's message, which says what to fix; a server fault is answered
// with a fixed message and its cause goes only to the log, so no internal
// detail (paths, SQL, stack) reaches a client.
package httperr

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/logx"
)

// Body is every error answer.
type Body struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// StatusClientClosed answers a request its client canceled (nginx's 499):
// nobody may be there to read it, and it is not a server fault.
const StatusClientClosed = 499

// InternalMessage is what a client is told of a server fault.
const InternalMessage = "internal error; the server log has the details"

// Error is an error with the status and message a client gets for it,
// for answers no errdefs category names (a proxy's 502, a route that
// does not exist). Cause, if set, is logged and never shown.
type Error struct {
	Status  int
	Message string
	Cause   error
}

func (e *Error) Error() string { return e.Message }

func (e *Error) Unwrap() error { return e.Cause }

// Status answers status with msg as the client's message.
func Status(status int, msg string) *Error { return &Error{Status: status, Message: msg} }

// Resolve returns the status and client message of err, and whether its
// cause belongs in the log. An *Error is answered as it says (and logged
// when it has a Cause); any other error by its errdefs category, with its
// message for a client's mistake and InternalMessage for a server fault.
// 503 keeps its message: it says what is unavailable (a template still
// building, an agent that does not answer) and is the client's to retry.
func Resolve(err error) (status int, msg string, logIt bool) {
	var he *Error
	if errors.As(err, &he) {
		return he.Status, he.Message, he.Cause != nil
	}
	if errors.Is(err, context.Canceled) {
		// The client went away (or hung up its half of the connection)
		// while the request was served: not the server's fault, nor
		// worth an error in its log.
		return StatusClientClosed, "the request was canceled by the client", false
	}
	status = errdefs.HTTPStatus(err)
	if status >= 500 && status != http.StatusServiceUnavailable {
		return status, InternalMessage, true
	}
	return status, err.Error(), false
}

// Write answers w with err. A server fault's cause is logged to log (if
// not nil) with the request's method and path; the client never sees it.
func Write(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	status, msg, logIt := Resolve(err)
	if logIt && log != nil {
		log.ErrorContext(r.Context(), "request failed", slog.String("method", r.Method), slog.String("path", r.URL.Path), logx.Err(err))
	}
	WriteBody(w, status, msg)
}

// WriteBody writes the error body with status and msg as given.
func WriteBody(w http.ResponseWriter, status int, msg string) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Del("Content-Length")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(Body{Code: status, Message: msg})
}
