package errdefs

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"connectrpc.com/connect"
)

// Every category crosses the wire as its Connect code and comes back as
// itself, with its message; an error outside every category stays out.
func TestConnectRoundTrip(t *testing.T) {
	for _, cat := range []error{ErrNotFound, ErrAlreadyExists, ErrInvalidArgument, ErrFailedPrecondition,
		ErrResourceExhausted, ErrUnavailable, ErrPermissionDenied, ErrUnauthenticated} {
		sent := fmt.Errorf("sandbox %q: %w", "sb1", cat)
		got := FromConnect(ToConnect(sent))
		if !errors.Is(got, cat) {
			t.Errorf("%v came back as %v", cat, got)
		}
		if !strings.HasPrefix(got.Error(), sent.Error()) {
			t.Errorf("message %q, want it to carry %q", got, sent)
		}
	}
	plain := FromConnect(ToConnect(errors.New("disk on fire")))
	if connect.CodeOf(ToConnect(errors.New("x"))) != connect.CodeInternal || HTTPStatus(plain) != 500 {
		t.Errorf("an uncategorised error became %v (%d)", plain, HTTPStatus(plain))
	}
	if !errors.Is(FromConnect(connect.NewError(connect.CodeDeadlineExceeded, context.DeadlineExceeded)), ErrUnavailable) {
		t.Errorf("a deadline on the far side is not unavailable")
	}
	if ToConnect(nil) != nil || FromConnect(nil) != nil {
		t.Errorf("nil is not nil")
	}
}
