package api

import (
	"fmt"
	"net/http"
	"time"

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
	writeJSON(w, http.StatusOK, toDetail(sb, a.domain))
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

func (b timeoutBody) duration(required bool) (time.Duration, error) {
	if b.Timeout == nil {
		if required {
			return 0, fmt.Errorf("timeout (seconds) is required: %w", errdefs.ErrInvalidArgument)
		}
		return 0, nil
	}
	if *b.Timeout <= 0 {
		return 0, fmt.Errorf("timeout %d: use a positive number of seconds: %w", *b.Timeout, errdefs.ErrInvalidArgument)
	}
	return time.Duration(*b.Timeout) * time.Second, nil
}

func (a *API) setTimeout(w http.ResponseWriter, r *http.Request) {
	var body timeoutBody
	err := decode(r, &body)
	var d time.Duration
	if err == nil {
		d, err = body.duration(true)
	}
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
	var body struct {
		Duration *int64 `json:"duration"`
	}
	err := decode(r, &body)
	var sb store.Sandbox
	if err == nil {
		sb, err = a.owned(r)
	}
	if err == nil {
		d := 60 * time.Second
		if body.Duration != nil && *body.Duration > 0 {
			d = time.Duration(*body.Duration) * time.Second
		}
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

// pause freezes the sandbox in memory; see lifecycle.Manager.Pause.
func (a *API) pause(w http.ResponseWriter, r *http.Request) {
	sb, err := a.owned(r)
	if err == nil {
		err = a.lc.Pause(r.Context(), sb.ID)
	}
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// connect resumes a paused sandbox (201) or finds a running one (200).
func (a *API) connect(w http.ResponseWriter, r *http.Request) {
	var body timeoutBody
	err := decode(r, &body)
	var d time.Duration
	if err == nil {
		d, err = body.duration(false)
	}
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
