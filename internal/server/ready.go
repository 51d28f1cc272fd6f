package server

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"golang.org/x/sys/unix"
)

// readyDeadline bounds each check of GET /ready: a store or runtime that
// hangs makes the server not ready rather than the probe hang.
const readyDeadline = 2 * time.Second

// readyCheck is one condition of GET /ready.
type readyCheck struct {
	Name string `json:"name"`
	OK   bool   `json:"ok"`
	// Message says what was found, and when not ok, what is wrong.
	Message string `json:"message"`
}

// readyResponse is the body of GET /ready.
type readyResponse struct {
	// Status is "ready" or "not ready".
	Status string       `json:"status"`
	Checks []readyCheck `json:"checks"`
}

// ready answers whether the server can create sandboxes now: the store
// answers, the runtime lists its sandboxes, the default template is
// built, and the data dir's filesystem has room. 200 when all hold, 503
// with the failed checks' reasons otherwise. /health stays liveness: it
// answers as long as the process serves.
func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	checks := []readyCheck{
		s.check(r.Context(), "store", func(ctx context.Context) (string, error) {
			if _, err := s.store.CountAPIKeys(ctx); err != nil {
				return "", fmt.Errorf("store does not answer: %w", err)
			}
			return "answers", nil
		}),
		s.check(r.Context(), "runtime", func(ctx context.Context) (string, error) {
			list, err := s.driver.List(ctx)
			if err != nil {
				return "", fmt.Errorf("runtime %s cannot list sandboxes: %w", s.driver.Name(), err)
			}
			return fmt.Sprintf("%s, %d sandboxes", s.driver.Name(), len(list)), nil
		}),
		s.check(r.Context(), "template", func(context.Context) (string, error) {
			s.mu.Lock()
			st := s.templateState[defaultTemplate]
			s.mu.Unlock()
			switch st {
			case "ready":
				return "template " + defaultTemplate + " ready", nil
			case "":
				st = "not started"
			}
			return "", fmt.Errorf("template %s is %s", defaultTemplate, st)
		}),
		s.check(r.Context(), "disk", func(context.Context) (string, error) {
			var st unix.Statfs_t
			if err := unix.Statfs(s.cfg.DataDir, &st); err != nil {
				return "", fmt.Errorf("statfs %s: %w", s.cfg.DataDir, err)
			}
			free := st.Bavail * uint64(st.Bsize) >> 20
			msg := fmt.Sprintf("%d MiB free in %s, at least %d MiB wanted", free, s.cfg.DataDir, s.cfg.ReadyMinFreeMB)
			if free < uint64(s.cfg.ReadyMinFreeMB) {
				return "", fmt.Errorf("disk nearly full: %s", msg)
			}
			return msg, nil
		}),
	}
	res, code := readyResponse{Status: "ready", Checks: checks}, http.StatusOK
	for _, c := range checks {
		if !c.OK {
			res.Status, code = "not ready", http.StatusServiceUnavailable
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, code, res)
}

// check runs one readiness condition under readyDeadline.
func (s *Server) check(ctx context.Context, name string, fn func(context.Context) (string, error)) readyCheck {
	ctx, cancel := context.WithTimeout(ctx, readyDeadline)
	defer cancel()
	msg, err := fn(ctx)
	if err != nil {
		return readyCheck{Name: name, Message: err.Error()}
	}
	return readyCheck{Name: name, OK: true, Message: msg}
}
