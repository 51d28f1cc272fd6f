package api

import (
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/lifecycle"
)

// teamMetricJSON is E2B's TeamMetric.
type teamMetricJSON struct {
	Timestamp           time.Time `json:"timestamp"`
	TimestampUnix       int64     `json:"timestampUnix"`
	ConcurrentSandboxes int       `json:"concurrentSandboxes"`
	SandboxStartRate    float64   `json:"sandboxStartRate"`
}

// maxTeamMetricJSON is E2B's MaxTeamMetric.
type maxTeamMetricJSON struct {
	Timestamp     time.Time `json:"timestamp"`
	TimestampUnix int64     `json:"timestampUnix"`
	Value         float64   `json:"value"`
}

// defaultTeamRange is the range of a team metrics request that names no
// start: the last hour.
const defaultTeamRange = time.Hour

// teamRange checks that the path's team is the caller's (403 otherwise)
// and reads ?start=&end= (defaults: the hour before now, and now).
func (a *API) teamRange(r *http.Request) (team string, start, end time.Time, err error) {
	team = a.team(r)
	if id := r.PathValue("teamID"); id != team {
		return "", start, end, fmt.Errorf("team %q is not the team of this API key: ask for your own team's metrics (%q): %w", id, team, errdefs.ErrPermissionDenied)
	}
	start, end, err = parseMetricsRange(r.URL.RawQuery)
	if err != nil {
		return "", start, end, err
	}
	if end.IsZero() {
		end = time.Now()
	}
	if start.IsZero() {
		start = end.Add(-defaultTeamRange)
	}
	if start.After(end) {
		return "", start, end, fmt.Errorf("start %d is after end %d (now when not given): %w", start.Unix(), end.Unix(), errdefs.ErrInvalidArgument)
	}
	if end.Sub(start) > maxMetricsRange {
		return "", start, end, fmt.Errorf("range from start %d to end %d (now when not given) is too long: ask for at most %d days: %w",
			start.Unix(), end.Unix(), maxMetricsRange/(24*time.Hour), errdefs.ErrInvalidArgument)
	}
	return team, start.Truncate(time.Second), end, nil
}

// teamMetrics is GET /teams/{teamID}/metrics: the team's concurrent
// sandboxes and start rate over a range.
func (a *API) teamMetrics(w http.ResponseWriter, r *http.Request) {
	team, start, end, err := a.teamRange(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	points, err := a.lc.TeamMetrics(r.Context(), team, start, end)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	out := make([]teamMetricJSON, 0, len(points))
	for _, p := range points {
		out = append(out, teamMetricJSON{Timestamp: p.Timestamp.UTC(), TimestampUnix: p.Timestamp.Unix(),
			ConcurrentSandboxes: p.ConcurrentSandboxes, SandboxStartRate: p.SandboxStartRate})
	}
	writeJSON(w, http.StatusOK, out)
}

// teamMetricsMax is GET /teams/{teamID}/metrics/max?metric=: the highest
// value of one team metric over a range.
func (a *API) teamMetricsMax(w http.ResponseWriter, r *http.Request) {
	team, start, end, err := a.teamRange(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	q, _ := url.ParseQuery(r.URL.RawQuery) // parseMetricsRange has read it
	metric := q.Get("metric")
	if metric == "" {
		a.writeError(w, r, fmt.Errorf("metric is required: use %s or %s: %w", lifecycle.MetricConcurrentSandboxes, lifecycle.MetricSandboxStartRate, errdefs.ErrInvalidArgument))
		return
	}
	at, v, err := a.lc.TeamMetricMax(r.Context(), team, metric, start, end)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, maxTeamMetricJSON{Timestamp: at.UTC(), TimestampUnix: at.Unix(), Value: v})
}
