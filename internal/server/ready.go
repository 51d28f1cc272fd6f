package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"golang.org/x/sys/unix"

	"github.com/soulbox/soulbox/internal/logx"
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
	checks := s.readyChecks(r.Context())
	res, code := readyResponse{Status: "ready", Checks: checks}, http.StatusOK
	for _, c := range checks {
		if !c.OK {
			res.Status, code = "not ready", http.StatusServiceUnavailable
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, code, res)
}

// readyChecks runs every readiness check.
func (s *Server) readyChecks(ctx context.Context) []readyCheck {
	return []readyCheck{
		s.check(ctx, "store", func(ctx context.Context) (string, error) {
			if _, err := s.store.CountAPIKeys(ctx); err != nil {
				return "", readyFailure{"the store does not answer", err}
			}
			return "answers", nil
		}),
		s.check(ctx, "runtime", func(ctx context.Context) (string, error) {
			if s.driver == nil {
				return "none: a control plane only, its sandboxes run on joined nodes", nil
			}
			list, err := s.driver.List(ctx)
			if err != nil {
				return "", readyFailure{fmt.Sprintf("runtime %s cannot list its sandboxes", s.driver.Name()), err}
			}
			return fmt.Sprintf("%s, %d sandboxes", s.driver.Name(), len(list)), nil
		}),
		s.check(ctx, "template", func(context.Context) (string, error) {
			s.mu.Lock()
			st := s.templateState[defaultTemplate]
			s.mu.Unlock()
			if !s.cfg.embedded() {
				return "none built here: a control plane only", nil
			}
			switch st {
			case "ready":
				return "template " + defaultTemplate + " ready", nil
			case "":
				st = "not started"
			case "error":
				return "", readyFailure{reason: "template " + defaultTemplate + " failed to build"}
			}
			return "", readyFailure{reason: fmt.Sprintf("template %s is %s", defaultTemplate, st)}
		}),
		s.check(ctx, "disk", func(context.Context) (string, error) {
			var st unix.Statfs_t
			if err := unix.Statfs(s.cfg.DataDir, &st); err != nil {
				return "", readyFailure{"cannot read the data dir's free space", err}
			}
			free := st.Bavail * uint64(st.Bsize) >> 20
			msg := fmt.Sprintf("%d MiB free in the data dir, at least %d MiB wanted", free, s.cfg.ReadyMinFreeMB)
			if free < uint64(s.cfg.ReadyMinFreeMB) {
				return "", readyFailure{reason: "disk nearly full: " + msg}
			}
			return msg, nil
		}),
	}
}

// readyFailure is a failed readiness check: reason is answered, cause
// only logged.
type readyFailure struct {
	reason string
	cause  error
}

func (f readyFailure) Error() string { return f.reason }

// check runs one readiness condition under readyDeadline.
func (s *Server) check(ctx context.Context, name string, fn func(context.Context) (string, error)) readyCheck {
	ctx, cancel := context.WithTimeout(ctx, readyDeadline)
	defer cancel()
	msg, err := fn(ctx)
	if err != nil {
		var f readyFailure
		if !errors.As(err, &f) {
			f = readyFailure{"check failed", err}
		}
		if f.cause != nil {
			// /ready is not authenticated: the cause (paths, a driver's
			// output) goes to the log, the answer keeps the reason.
			s.log.WarnContext(ctx, "not ready", slog.String("check", name), slog.String("reason", f.reason), logx.Err(f.cause))
			f.reason += " (the server log has the cause)"
		}
		return readyCheck{Name: name, Message: f.reason}
	}
	return readyCheck{Name: name, OK: true, Message: msg}
}
