package soulbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"connectrpc.com/connect"
)

// Error categories. Every error of this package that comes from the server
// or the sandbox is an [*Error] that matches one of them with [errors.Is]:
//
//	if errors.Is(err, soulbox.ErrNotFound) { ... }
var (
	// ErrNotFound: the sandbox, process, file or context does not exist.
	ErrNotFound = errors.New("not found")
	// ErrAuth: the API key or access token is missing or wrong.
	ErrAuth = errors.New("authentication failed")
	// ErrPermissionDenied: the key or sandbox user may not do this.
	ErrPermissionDenied = errors.New("permission denied")
	// ErrRateLimited: too many requests or sandboxes; retry later.
	ErrRateLimited = errors.New("rate limited")
	// ErrInvalidArgument: the request is wrong; the message says what.
	ErrInvalidArgument = errors.New("invalid argument")
	// ErrConflict: the target is in the wrong state (already paused,
	// already exists).
	ErrConflict = errors.New("conflict")
	// ErrTimeout: the context's deadline or the server's timeout passed.
	// A context deadline also matches context.DeadlineExceeded.
	ErrTimeout = errors.New("timeout")
	// ErrUnavailable: the server or sandbox cannot be reached now.
	ErrUnavailable = errors.New("unavailable")
	// ErrNotEnoughSpace: the sandbox's disk is full.
	ErrNotEnoughSpace = errors.New("not enough space")
	// ErrInternal: the server failed; the message says how.
	ErrInternal = errors.New("internal error")
)

// Error is an error answer of the server or of a sandbox.
type Error struct {
	// Status is the HTTP status, when the answer was one.
	Status int
	// Code is the Connect code (e.g. "not_found"), when the answer was a
	// Connect error.
	Code string
	// Message is what the server said.
	Message string
	// RetryAfter is the server's Retry-After header, if any.
	RetryAfter string

	kind  error // one of the categories above
	cause error // a context error or transport error, if any
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.kind.Error())
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.Status != 0 {
		fmt.Fprintf(&b, " (HTTP %d)", e.Status)
	}
	return b.String()
}

// Unwrap returns the category and, for a context or transport failure,
// its cause: errors.Is matches both.
func (e *Error) Unwrap() []error {
	if e.cause != nil {
		return []error{e.kind, e.cause}
	}
	return []error{e.kind}
}

// Kind returns the category of the error (ErrNotFound, ErrAuth, ...).
func (e *Error) Kind() error { return e.kind }

// statusKind maps an HTTP status to a category.
func statusKind(status int) error {
	switch status {
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity, http.StatusRequestURITooLong:
		return ErrInvalidArgument
	case http.StatusUnauthorized:
		return ErrAuth
	case http.StatusForbidden:
		return ErrPermissionDenied
	case http.StatusNotFound:
		return ErrNotFound
	case http.StatusConflict:
		return ErrConflict
	case http.StatusTooManyRequests:
		return ErrRateLimited
	case http.StatusRequestTimeout, http.StatusGatewayTimeout:
		return ErrTimeout
	case http.StatusBadGateway, http.StatusServiceUnavailable:
		return ErrUnavailable
	case http.StatusInsufficientStorage:
		return ErrNotEnoughSpace
	}
	return ErrInternal
}

// httpError reads an error answer: {code, message} when the server sent
// one, else the body as text.
func httpError(status int, h http.Header, body []byte) *Error {
	e := &Error{Status: status, Message: strings.TrimSpace(string(body)), kind: statusKind(status), RetryAfter: h.Get("Retry-After")}
	var m struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &m) == nil && m.Message != "" {
		e.Message = m.Message
	}
	if len(e.Message) > 1024 {
		e.Message = e.Message[:1024] + "..."
	}
	return e
}

// connectKind maps a Connect code to a category.
func connectKind(code connect.Code) error {
	switch code {
	case connect.CodeNotFound:
		return ErrNotFound
	case connect.CodeUnauthenticated:
		return ErrAuth
	case connect.CodePermissionDenied:
		return ErrPermissionDenied
	case connect.CodeResourceExhausted:
		return ErrRateLimited
	case connect.CodeInvalidArgument, connect.CodeOutOfRange:
		return ErrInvalidArgument
	case connect.CodeAlreadyExists, connect.CodeFailedPrecondition, connect.CodeAborted:
		return ErrConflict
	case connect.CodeDeadlineExceeded:
		return ErrTimeout
	case connect.CodeUnavailable:
		return ErrUnavailable
	}
	return ErrInternal
}

// wrap turns an error of a call into an *Error: context errors become
// ErrTimeout (deadline) or stay context.Canceled, Connect errors get their
// category. It returns nil for nil.
func wrap(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	if cerr := ctx.Err(); cerr != nil {
		return ctxError(ctx)
	}
	var ce *connect.Error
	if errors.As(err, &ce) {
		return &Error{Code: ce.Code().String(), Message: ce.Message(), kind: connectKind(ce.Code())}
	}
	return &Error{Message: err.Error(), kind: ErrUnavailable, cause: err}
}

// ctxError is the error of a call whose context ended.
func ctxError(ctx context.Context) error {
	cerr := ctx.Err()
	if errors.Is(cerr, context.DeadlineExceeded) {
		return &Error{Message: "the context's deadline passed", kind: ErrTimeout, cause: cerr}
	}
	return cerr
}

// transportError is the error of a request that got no answer.
func transportError(ctx context.Context, server string, err error) error {
	if ctx.Err() != nil {
		return ctxError(ctx)
	}
	return &Error{Message: fmt.Sprintf("cannot reach %s: %v", server, err), kind: ErrUnavailable, cause: err}
}

// apiName names the control plane in errors.
func apiName(url string) string {
	return "the SoulBox server at " + url
}

// ExitError is the error of a command that ended with a non-zero exit
// code, as os/exec's ExitError. Its Result holds the output.
type ExitError struct {
	*CommandResult
}

func (e *ExitError) Error() string {
	if e.ExitCode < 0 {
		return fmt.Sprintf("command killed by a signal (%s)", e.Status)
	}
	return fmt.Sprintf("command exited with code %d", e.ExitCode)
}
