package api

import (
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/soulbox/soulbox/internal/authz"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
)

// owned returns the sandbox of the path if it is live and the request's
// team owns it; anything else is not found (a stranger learns nothing).
func (a *API) owned(r *http.Request) (store.Sandbox, error) {
	id := r.PathValue("id")
	sb, err := a.lc.Get(r.Context(), id)
	if err != nil {
		return sb, err
	}
	if sb.ClientID != a.team(r) || sb.State == store.StateEnded {
		return sb, fmt.Errorf("sandbox %q: %w", id, errdefs.ErrNotFound)
	}
	return sb, nil
}

func (a *API) get(w http.ResponseWriter, r *http.Request) {
	sb, err := a.owned(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	d := toDetail(sb, a.domain)
	if !may(r, authz.SandboxesUse) {
		// The token opens the sandbox's agent: a key that may only read
		// does not get it.
		d.EnvdAccessToken = nil
	}
	writeJSON(w, http.StatusOK, d)
}

func (a *API) kill(w http.ResponseWriter, r *http.Request) {
	sb, err := a.owned(r)
	if err == nil {
		err = a.lc.Kill(r.Context(), sb.ID, store.ReasonKilled, "killed through the API")
	}
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// timeoutBody is {timeout} in seconds, for set-timeout and connect.
type timeoutBody struct {
	Timeout *int64 `json:"timeout"`
}

// decodeTimeout reads a {timeout} body: absent is 0 unless required, and a
// value must be within timeoutBound.
func decodeTimeout(r io.Reader, required bool) (time.Duration, error) {
	var b timeoutBody
	if err := decodeBody(r, &b); err != nil {
		return 0, err
	}
	if b.Timeout == nil {
		if required {
			return 0, fmt.Errorf("timeout (seconds) is required: %w", errdefs.ErrInvalidArgument)
		}
		return 0, nil
	}
	if err := timeoutBound.check(*b.Timeout); err != nil {
		return 0, err
	}
	return time.Duration(*b.Timeout) * time.Second, nil
}

// decodeRefresh reads a refresh body, {duration} seconds (absent or 0:
// 60).
func decodeRefresh(r io.Reader) (time.Duration, error) {
	var b struct {
		Duration *int64 `json:"duration"`
	}
	if err := decodeBody(r, &b); err != nil {
		return 0, err
	}
	if b.Duration == nil || *b.Duration == 0 {
		return 60 * time.Second, nil
	}
	if err := durationBound.check(*b.Duration); err != nil {
		return 0, err
	}
	return time.Duration(*b.Duration) * time.Second, nil
}

func (a *API) setTimeout(w http.ResponseWriter, r *http.Request) {
	d, err := decodeTimeout(r.Body, true)
	var sb store.Sandbox
	if err == nil {
		sb, err = a.owned(r)
	}
	if err == nil {
		err = a.lc.SetTimeout(r.Context(), sb.ID, d)
	}
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// refresh is the SDK's keep-alive: {duration} seconds more.
func (a *API) refresh(w http.ResponseWriter, r *http.Request) {
	d, err := decodeRefresh(r.Body)
	var sb store.Sandbox
	if err == nil {
		sb, err = a.owned(r)
	}
	if err == nil {
		if time.Until(sb.EndAt) < d {
			err = a.lc.SetTimeout(r.Context(), sb.ID, d)
		}
	}
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// decodePause reads E2B's SandboxPauseRequest: {memory}, true when
// absent.
func decodePause(r io.Reader) (memory bool, err error) {
	var b struct {
		Memory *bool `json:"memory"`
	}
	if err := decodeBody(r, &b); err != nil {
		return false, err
	}
	return b.Memory == nil || *b.Memory, nil
}

// pause pauses the sandbox to disk, with its memory or its filesystem
// only; see lifecycle.Manager.Pause.
func (a *API) pause(w http.ResponseWriter, r *http.Request) {
	memory, err := decodePause(r.Body)
	var sb store.Sandbox
	if err == nil {
		sb, err = a.owned(r)
	}
	if err == nil {
		err = a.lc.Pause(r.Context(), sb.ID, memory)
	}
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// resume resumes a paused sandbox (201); a running one is a 409, as in
// E2B.
func (a *API) resume(w http.ResponseWriter, r *http.Request) {
	d, err := decodeTimeout(r.Body, false)
	var sb store.Sandbox
	if err == nil {
		sb, err = a.owned(r)
	}
	if err == nil {
		sb, err = a.lc.Resume(r.Context(), sb.ID, d)
	}
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, toSandbox(sb, a.domain))
}

// connect resumes a paused sandbox (201) or finds a running one (200).
func (a *API) connect(w http.ResponseWriter, r *http.Request) {
	d, err := decodeTimeout(r.Body, false)
	var sb store.Sandbox
	if err == nil {
		sb, err = a.owned(r)
	}
	resumed := false
	if err == nil {
		sb, resumed, err = a.lc.Connect(r.Context(), sb.ID, d)
	}
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	status := http.StatusOK
	if resumed {
		status = http.StatusCreated
	}
	writeJSON(w, status, toSandbox(sb, a.domain))
}
