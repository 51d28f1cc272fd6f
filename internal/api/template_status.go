package api

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
)

// maxLogEntries bounds the log entries of one answer.
const maxLogEntries = 1000

type logEntryBody struct {
	Timestamp time.Time `json:"timestamp"`
	Message   string    `json:"message"`
	Level     string    `json:"level"`
	Step      string    `json:"step,omitempty"`
}

func logEntries(logs []store.BuildLogEntry) []logEntryBody {
	out := make([]logEntryBody, 0, len(logs))
	for _, l := range logs {
		out = append(out, logEntryBody{Timestamp: l.Time, Message: l.Message, Level: l.Level, Step: l.Step})
	}
	return out
}

// intParam reads a non-negative integer query parameter.
func intParam(r *http.Request, name string, def, max int) (int, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%s %q: want a non-negative integer: %w", name, s, errdefs.ErrInvalidArgument)
	}
	return min(n, max), nil
}

// buildStatus is GET /templates/{id}/builds/{buildID}/status: E2B's
// TemplateBuildInfo, with the log from logsOffset.
func (t *Templates) buildStatus(w http.ResponseWriter, r *http.Request) {
	offset, err := intParam(r, "logsOffset", 0, 1<<31-1)
	if err != nil {
		t.api.writeError(w, r, err)
		return
	}
	limit, err := intParam(r, "limit", 100, maxLogEntries)
	if err != nil {
		t.api.writeError(w, r, err)
		return
	}
	b, logs, err := t.cat.Status(r.Context(), t.team(r), r.PathValue("id"), r.PathValue("buildID"), offset, limit)
	if err != nil {
		t.api.writeError(w, r, err)
		return
	}
	lines := make([]string, 0, len(logs))
	for _, l := range logs {
		lines = append(lines, l.Message)
	}
	body := map[string]any{
		"templateID": b.TemplateID, "buildID": b.ID, "status": b.Status,
		"logs": lines, "logEntries": logEntries(logs),
	}
	if b.Status == store.BuildError {
		reason := map[string]any{"message": b.Reason, "logEntries": logEntries(t.cat.StepTail(r.Context(), b.ID, b.ReasonStep, 20))}
		if b.ReasonStep != "" {
			reason["step"] = b.ReasonStep
		}
		body["reason"] = reason
	}
	writeJSON(w, http.StatusOK, body)
}

// buildLogs is GET /templates/{id}/builds/{buildID}/logs: E2B's
// TemplateBuildLogsResponse, paginated by cursor (an offset here) and
// limit.
func (t *Templates) buildLogs(w http.ResponseWriter, r *http.Request) {
	offset, err := intParam(r, "cursor", 0, 1<<31-1)
	if err != nil {
		t.api.writeError(w, r, err)
		return
	}
	limit, err := intParam(r, "limit", 100, maxLogEntries)
	if err != nil {
		t.api.writeError(w, r, err)
		return
	}
	_, logs, err := t.cat.Status(r.Context(), t.team(r), r.PathValue("id"), r.PathValue("buildID"), offset, limit)
	if err != nil {
		t.api.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"logs": logEntries(logs)})
}
