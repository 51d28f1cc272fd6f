package httperr

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/soulbox/soulbox/internal/errdefs"
)

func TestWrite(t *testing.T) {
	for _, tc := range []struct {
		name   string
		err    error
		status int
		msg    string
		logged bool
	}{
		{"Invalid", fmt.Errorf("timeout 0: use 1 to 86400: %w", errdefs.ErrInvalidArgument), 400, "timeout 0: use 1 to 86400: invalid argument", false},
		{"NotFound", fmt.Errorf("sandbox %q: %w", "x", errdefs.ErrNotFound), 404, `sandbox "x": not found`, false},
		{"Quota", fmt.Errorf("too many: %w", errdefs.ErrResourceExhausted), 429, "too many: resource exhausted", false},
		{"Unauthenticated", fmt.Errorf("missing API key: %w", errdefs.ErrUnauthenticated), 401, "missing API key: unauthenticated", false},
		{"Unavailable", fmt.Errorf("template base is building: %w", errdefs.ErrUnavailable), 503, "template base is building: unavailable", false},
		// A fault of the server hides its cause and logs it.
		{"Fault", errors.New("sqlite: /var/lib/soulbox/soulbox.db: disk I/O error"), 500, InternalMessage, true},
		{"ClientGone", fmt.Errorf("look up API key: %w", context.Canceled), 499, "the request was canceled by the client", false},
		{"Explicit", Status(502, "sandbox abc is not running"), 502, "sandbox abc is not running", false},
		{"ExplicitWithCause", &Error{Status: 502, Message: "the sandbox did not answer", Cause: errors.New("dial 10.0.0.2: refused")}, 502, "the sandbox did not answer", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			w := httptest.NewRecorder()
			Write(w, httptest.NewRequest("GET", "/sandboxes/x", nil), slog.New(slog.NewTextHandler(&logs, nil)), tc.err)
			if w.Code != tc.status || w.Header().Get("Content-Type") != "application/json" {
				t.Errorf("status %d %q, want %d application/json", w.Code, w.Header().Get("Content-Type"), tc.status)
			}
			var body map[string]any
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || len(body) != 2 ||
				body["code"] != float64(tc.status) || body["message"] != tc.msg {
				t.Errorf("body %s (%v), want {code: %d, message: %q}", w.Body, err, tc.status, tc.msg)
			}
			if got := logs.Len() > 0; got != tc.logged {
				t.Errorf("logged %v, want %v:\n%s", got, tc.logged, logs.String())
			}
			if tc.logged && !strings.Contains(logs.String(), "/sandboxes/x") {
				t.Errorf("log does not name the request:\n%s", logs.String())
			}
		})
	}
}

func TestWriteBodyDropsContentLength(t *testing.T) {
	// A writer reached after a handler set a length for its own body must
	// not send a body of another length.
	w := httptest.NewRecorder()
	w.Header().Set("Content-Length", "3")
	WriteBody(w, http.StatusBadGateway, "no")
	if w.Header().Get("Content-Length") != "" {
		t.Errorf("Content-Length %q kept", w.Header().Get("Content-Length"))
	}
}
