package api

import (
	"context"
	"errors"
	"net/http"
	"time"
)

// credentialRecheck is how often an open event stream checks that the
// credential it was opened with still works: a revoked key, a deleted
// team or an expired access token ends the stream within this long.
const credentialRecheck = 5 * time.Second

// errCredentialEnded ends a stream whose credential stopped working.
var errCredentialEnded = errors.New("the credential this stream was opened with no longer works")

// whileCredentialWorks returns a context of r that is cancelled once
// Config.Recheck refuses r's credential, checked every credentialRecheck
// (no recheck without Config.Recheck), and the function that stops the
// checking.
func (a *API) whileCredentialWorks(r *http.Request) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(r.Context())
	if a.recheck == nil {
		return ctx, func() { cancel(nil) }
	}
	go func() {
		t := time.NewTicker(credentialRecheck)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := a.recheck(ctx, r); err != nil && ctx.Err() == nil {
					cancel(errors.Join(errCredentialEnded, err))
					return
				}
			}
		}
	}()
	return ctx, func() { cancel(nil) }
}
