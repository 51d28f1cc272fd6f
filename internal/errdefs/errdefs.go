// Package errdefs holds the error categories every SoulBox package wraps its
// errors with, so that one place (see HTTPStatus) can map them to wire codes.
//
// Wrap a category with the identifiers a user needs to fix the problem:
//
//	fmt.Errorf("sandbox %q: %w", id, errdefs.ErrNotFound)
package errdefs

import "errors"

// The categories. They are deliberately few; add one only when a client must
// react to it differently from every existing one.
var (
	ErrNotFound           = errors.New("not found")
	ErrAlreadyExists      = errors.New("already exists")
	ErrInvalidArgument    = errors.New("invalid argument")
	ErrFailedPrecondition = errors.New("failed precondition")
	ErrResourceExhausted  = errors.New("resource exhausted")
	ErrUnavailable        = errors.New("unavailable")
	ErrPermissionDenied   = errors.New("permission denied")
	ErrUnauthenticated    = errors.New("unauthenticated")
)

// IsNotFound reports whether err is in the not-found category.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// IsAlreadyExists reports whether err is in the already-exists category.
func IsAlreadyExists(err error) bool { return errors.Is(err, ErrAlreadyExists) }

// IsInvalidArgument reports whether err is in the invalid-argument category.
func IsInvalidArgument(err error) bool { return errors.Is(err, ErrInvalidArgument) }

// IsFailedPrecondition reports whether err is in the failed-precondition category.
func IsFailedPrecondition(err error) bool { return errors.Is(err, ErrFailedPrecondition) }
