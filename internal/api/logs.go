package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
)

// logsJSON is E2B's SandboxLogs.
type logsJSON struct {
	Logs       []logLine  `json:"logs"`
	LogEntries []logEntry `json:"logEntries"`
}

type logLine struct {
	Timestamp time.Time `json:"timestamp"`
	Line      string    `json:"line"`
}

type logEntry struct {
	Timestamp time.Time         `json:"timestamp"`
	Level     string            `json:"level"`
	Message   string            `json:"message"`
	Fields    map[string]string `json:"fields"`
}

// logs returns the sandbox's lifecycle events and its agent's log lines
// (JSON lines with time, level and msg), oldest first, from ?start= (unix
// milliseconds) and at most ?limit= entries.
func (a *API) logs(w http.ResponseWriter, r *http.Request) {
	start, limit, err := parseLogsQuery(r.URL.RawQuery)
	var sb store.Sandbox
	if err == nil {
		sb, err = a.owned(r)
	}
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	evs, err := a.lc.Events(r.Context(), sb.ID)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	var entries []logEntry
	for _, ev := range evs {
		msg := ev.Type
		if ev.Message != "" {
			msg += ": " + ev.Message
		}
		entries = append(entries, logEntry{Timestamp: ev.Time, Level: "info", Message: msg,
			Fields: map[string]string{"source": "lifecycle", "event": ev.Type, "sandboxID": sb.ID}})
	}
	for _, line := range strings.Split(string(a.lc.AgentLog(r.Context(), sb.ID)), "\n") {
		var rec struct {
			Time  time.Time `json:"time"`
			Level string    `json:"level"`
			Msg   string    `json:"msg"`
		}
		if line == "" || json.Unmarshal([]byte(line), &rec) != nil || rec.Time.IsZero() {
			continue
		}
		entries = append(entries, logEntry{Timestamp: rec.Time, Level: strings.ToLower(rec.Level), Message: rec.Msg,
			Fields: map[string]string{"source": "agent", "sandboxID": sb.ID}})
	}
	sort.SliceStable(entries, func(i, j int) bool { return entries[i].Timestamp.Before(entries[j].Timestamp) })
	out := logsJSON{Logs: []logLine{}, LogEntries: []logEntry{}}
	for _, e := range entries {
		if e.Timestamp.UnixMilli() < start || len(out.LogEntries) == limit {
			continue
		}
		out.LogEntries = append(out.LogEntries, e)
		out.Logs = append(out.Logs, logLine{Timestamp: e.Timestamp, Line: e.Message})
	}
	writeJSON(w, http.StatusOK, out)
}

// parseLogsQuery reads ?start= (unix milliseconds, default 0) and ?limit=
// (default and most 1000).
func parseLogsQuery(raw string) (start int64, limit int, err error) {
	q, err := url.ParseQuery(raw)
	if err != nil {
		return 0, 0, fmt.Errorf("query string: %v: %w", err, errdefs.ErrInvalidArgument)
	}
	if start, err = logStartBound.query(q, 0); err != nil {
		return 0, 0, err
	}
	n, err := logLimitBound.query(q, logLimitBound.max)
	return start, int(n), err
}
