package errdefs

import (
	"errors"
	"fmt"

	"connectrpc.com/connect"
)

// rpcCodes pairs each category with its Connect code, both ways.
var rpcCodes = []struct {
	cat  error
	code connect.Code
}{
	{ErrInvalidArgument, connect.CodeInvalidArgument},
	{ErrNotFound, connect.CodeNotFound},
	{ErrAlreadyExists, connect.CodeAlreadyExists},
	{ErrFailedPrecondition, connect.CodeFailedPrecondition},
	{ErrPermissionDenied, connect.CodePermissionDenied},
	{ErrUnauthenticated, connect.CodeUnauthenticated},
	{ErrResourceExhausted, connect.CodeResourceExhausted},
	{ErrUnavailable, connect.CodeUnavailable},
}

// ToConnect makes err a Connect error whose code is its category's
// (Internal outside every category); nil stays nil.
func ToConnect(err error) error {
	if err == nil {
		return nil
	}
	var ce *connect.Error
	if errors.As(err, &ce) {
		return ce
	}
	code := connect.CodeInternal
	for _, c := range rpcCodes {
		if errors.Is(err, c.cat) {
			code = c.code
			break
		}
	}
	return connect.NewError(code, err)
}

// FromConnect is the other end of ToConnect: an error a Connect call
// returned, wrapped in the category of its code, with its message. A
// deadline or cancellation is ErrUnavailable unless the caller's own
// context ended (the caller checks that first); an unreachable peer is
// ErrUnavailable; Internal and Unknown stay outside every category.
func FromConnect(err error) error {
	if err == nil {
		return nil
	}
	code := connect.CodeOf(err)
	msg := err.Error()
	var ce *connect.Error
	if errors.As(err, &ce) {
		msg = ce.Message()
	}
	for _, c := range rpcCodes {
		if c.code == code {
			return fmt.Errorf("%s: %w", msg, c.cat)
		}
	}
	switch code {
	case connect.CodeDeadlineExceeded, connect.CodeCanceled, connect.CodeAborted:
		return fmt.Errorf("%s: %w", msg, ErrUnavailable)
	}
	return errors.New(msg)
}
