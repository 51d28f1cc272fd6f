package soulbox

import "errors"

// isKind says whether err is an *Error of category kind.
func isKind(err, kind error) bool {
	var e *Error
	return errors.As(err, &e) && e.kind == kind
}
