package api

import (
	"net/http"
	"time"

	"github.com/soulbox/soulbox/internal/httperr"
	"github.com/soulbox/soulbox/internal/store"
)

// forkResult is E2B's SandboxForkResult: exactly one of sandbox and
// error.
type forkResult struct {
	Sandbox *sandboxJSON `json:"sandbox,omitempty"`
	Error   *forkError   `json:"error,omitempty"`
}

type forkError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// fork is POST /sandboxes/{id}/fork (E2B's SandboxForkRequest {count:
// 1-100, default 1; timeout in seconds}): 201 with one SandboxForkResult
// per fork, each failing on its own; see lifecycle.Manager.Fork.
func (a *API) fork(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Count   *int   `json:"count"`
		Timeout *int64 `json:"timeout"`
	}
	err := decodeStrictBody(r.Body, &body)
	var sb store.Sandbox
	if err == nil {
		sb, err = a.owned(r)
	}
	count, timeout := 1, time.Duration(0)
	if body.Count != nil {
		count = *body.Count
	}
	if err == nil && body.Timeout != nil {
		err = timeoutBound.check(*body.Timeout)
		timeout = time.Duration(*body.Timeout) * time.Second
	}
	var results []forkResult
	if err == nil {
		forks, ferr := a.lc.Fork(r.Context(), sb.ID, count, timeout)
		err = ferr
		for _, f := range forks {
			if f.Err != nil {
				status, msg, logIt := httperr.Resolve(f.Err)
				if logIt && a.log != nil {
					a.log.Error("fork failed", "sandbox.id", sb.ID, "error", f.Err)
				}
				results = append(results, forkResult{Error: &forkError{Code: status, Message: msg}})
				continue
			}
			s := toSandbox(f.Sandbox, a.domain)
			results = append(results, forkResult{Sandbox: &s})
		}
	}
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, results)
}
